import type { ClaimedRow } from './claim-jobs.js';

/** The inserted row, as a claim returns it, plus the status it was given. */
export interface StartedRow extends ClaimedRow {
  status: 'running' | 'pending';
}

/**
 * Inserts one due job already claimed by worker $9 of this process (a direct start: see
 * Fetcher.startDirect): `running`, attempt 1, locked now. One round trip instead of an INSERT,
 * a NOTIFY and a claim. The claim's lease fence applies: unless worker $9 has a heartbeat for the
 * queue newer than $10 ms, the job is inserted `pending` instead, and the trigger notifies for it
 * as for any push. The trigger skips `running` rows (migration 0002): no one else could take it.
 * $1 id, $2 queue, $3 name, $4 payload (JSON text), $5 max_attempts, $6 priority,
 * $7 metadata (JSON text), $8 idempotency_key.
 */
export function insertStartedJobSql(s: string): string {
  return `INSERT INTO ${s}.jobs (id, queue, name, payload, max_attempts, priority, metadata, idempotency_key, status, attempts, locked_at, locked_by)
SELECT $1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8,
       CASE WHEN l.ok THEN 'running' ELSE 'pending' END, CASE WHEN l.ok THEN 1 ELSE 0 END,
       CASE WHEN l.ok THEN now() END, CASE WHEN l.ok THEN $9::text END
FROM (SELECT EXISTS (
  SELECT 1 FROM ${s}.workers w
  WHERE w.worker_id = $9 AND w.queue = $2 AND w.last_seen > now() - $10 * interval '1 millisecond'
) AS ok) l
RETURNING id, name, payload, attempts, max_attempts, priority, run_at, created_at, metadata, idempotency_key, status`;
}
