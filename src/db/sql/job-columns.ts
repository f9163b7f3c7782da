import type { JobRecord, JobStatus } from '../../job.interfaces.js';

/** Every column, listed (never `*`), in the order {@link toJobRecord} reads them. */
export const JOB_COLUMNS = `id, queue, name, payload, status, attempts, max_attempts, priority, run_at, created_at,
  locked_at, locked_by, done_at, last_error, result, metadata, idempotency_key`;

export interface JobRow {
  id: string;
  queue: string;
  name: string;
  payload: unknown;
  status: JobStatus;
  attempts: number;
  max_attempts: number | null;
  priority: number;
  run_at: Date;
  created_at: Date;
  locked_at: Date | null;
  locked_by: string | null;
  done_at: Date | null;
  last_error: string | null;
  result: unknown;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
}

export function toJobRecord(r: JobRow): JobRecord {
  return {
    id: r.id,
    queue: r.queue,
    name: r.name,
    data: r.payload,
    status: r.status,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    priority: r.priority,
    runAt: r.run_at,
    createdAt: r.created_at,
    lockedAt: r.locked_at,
    lockedBy: r.locked_by,
    doneAt: r.done_at,
    lastError: r.last_error,
    result: r.result,
    metadata: r.metadata,
    idempotencyKey: r.idempotency_key,
  };
}
