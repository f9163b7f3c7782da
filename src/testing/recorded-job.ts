import type { JobStatus, PushOptions } from '../job.interfaces.js';

/** `inline`: a push runs its handler before it resolves. `manual`: jobs wait for `drain()`. */
export type TestingMode = 'inline' | 'manual';

/** A job the testing sink recorded instead of inserting, with what happened to it since. */
export interface RecordedJob {
  id: string;
  queue: string;
  name: string;
  /** The payload as the database would have stored it (JSON round trip: a Date is its ISO string). */
  data: unknown;
  /** The push options, without a transaction (nothing is written, so there is none to join). */
  options: Omit<PushOptions, 'queryRunner' | 'manager' | 'client'>;
  status: JobStatus;
  /** Attempts run so far (a snoozed attempt is not counted, as in the real worker). */
  attempts: number;
  maxAttempts: number;
  priority: number;
  metadata: Record<string, unknown>;
  idempotencyKey: string | null;
  createdAt: Date;
  /** The handler's return value, JSON round-tripped; null until an attempt succeeds. */
  result: unknown;
  /** The latest failed attempt's error; null after a success or before any failure. */
  error: Error | null;
  /** Every failed attempt's error, oldest first. */
  errors: Error[];
  /** Every value the handler gave `job.progress()`, oldest first. */
  progress: unknown[];
}

/** What one `drain()` did: attempts that succeeded, failed (to be retried) and killed jobs. */
export interface DrainSummary {
  completed: number;
  failed: number;
  killed: number;
}
