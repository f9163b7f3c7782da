import type { ClaimedRow } from '../db/sql/claim-jobs.js';

/** The NOTIFY of a job handed to a ready worker (see insertHandedJobSql), as parsed from JSON. */
export interface HandedJobMessage {
  queue: string;
  /** The worker the row was inserted `running` under. */
  handedTo: string;
  id: string;
  name: string;
  payload: unknown;
  max_attempts: number | null;
  priority: number;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
  /** Creation time, epoch milliseconds (also its run_at: it was due when pushed). */
  at: number;
}

export function isHandedJob(msg: { handedTo?: unknown }): msg is HandedJobMessage {
  return typeof msg.handedTo === 'string';
}

/** The row as a claim would have returned it: attempt 1, due at its creation. */
export function handedRow(m: HandedJobMessage): ClaimedRow {
  return {
    id: m.id,
    name: m.name,
    payload: m.payload,
    attempts: 1,
    max_attempts: m.max_attempts,
    priority: m.priority,
    run_at: m.at,
    created_at: m.at,
    metadata: m.metadata,
    idempotency_key: m.idempotency_key,
  };
}
