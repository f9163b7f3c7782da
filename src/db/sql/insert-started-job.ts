/**
 * Inserts one due job already claimed by worker $9 of this process (a direct start: see
 * Fetcher.startDirect): `running`, attempt 1, locked now. One round trip instead of an INSERT,
 * a NOTIFY and a claim. The claim's lease fence applies: unless worker $9 has a heartbeat for the
 * queue newer than $10 ms, nothing is inserted (no row comes back) and the sink inserts the job
 * `pending` as usual; so it is when the queue is paused. The trigger skips `running` rows (migration 0002): no one else could take it.
 * Only the creation time comes back: the sink has every other column, and a wider RETURNING
 * (jsonb payload and metadata included) cost 0.17 ms of a 1.3 ms round trip at idle.
 * $1 id, $2 queue, $3 name, $4 payload (JSON text), $5 max_attempts, $6 priority,
 * $7 metadata (JSON text), $8 idempotency_key, $9 worker id, $10 lease (ms).
 */
export function insertStartedJobSql(s: string): string {
  return `INSERT INTO ${s}.jobs (id, queue, name, payload, max_attempts, priority, metadata, idempotency_key, status, attempts, locked_at, locked_by)
SELECT $1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, 'running', 1, now(), $9::text
WHERE EXISTS (
  SELECT 1 FROM ${s}.workers w
  WHERE w.worker_id = $9 AND w.queue = $2 AND w.last_seen > now() - $10 * interval '1 millisecond'
)
AND NOT EXISTS (SELECT 1 FROM ${s}.queues q WHERE q.name = $2 AND q.paused)
RETURNING created_at`;
}
