import type { JobRecord, JobStatus } from '../../job.interfaces.js';

export const JOB_STATUSES: readonly JobStatus[] = ['pending', 'running', 'done', 'retrying', 'killed', 'cancelled'];

/** Rows written by a process of version 0.1 during a rolling deploy may still say 'failed'. */
export function currentStatus(status: string): JobStatus {
  return (status === 'failed' ? 'retrying' : status) as JobStatus;
}

/** Every column, listed (never `*`), in the order {@link toJobRecord} reads them. */
export const JOB_COLUMNS = `id, queue, name, payload, status, attempts, max_attempts, priority, run_at, created_at,
  locked_at, locked_by, done_at, last_error, errors, result, progress, metadata, idempotency_key`;

export interface JobRow {
  id: string;
  queue: string;
  name: string;
  payload: unknown;
  status: string;
  attempts: number;
  max_attempts: number | null;
  priority: number;
  run_at: Date;
  created_at: Date;
  locked_at: Date | null;
  locked_by: string | null;
  done_at: Date | null;
  last_error: string | null;
  errors: Array<{ attempt: number; at: string; error: string }>;
  result: unknown;
  progress: unknown;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
}

export function toJobRecord(r: JobRow): JobRecord {
  return {
    id: r.id,
    queue: r.queue,
    name: r.name,
    data: r.payload,
    status: currentStatus(r.status),
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    priority: r.priority,
    runAt: r.run_at,
    createdAt: r.created_at,
    lockedAt: r.locked_at,
    lockedBy: r.locked_by,
    doneAt: r.done_at,
    lastError: r.last_error,
    errors: r.errors.map((e) => ({ attempt: e.attempt, at: new Date(e.at), error: e.error })),
    result: r.result,
    progress: r.progress,
    metadata: r.metadata,
    idempotencyKey: r.idempotency_key,
  };
}
