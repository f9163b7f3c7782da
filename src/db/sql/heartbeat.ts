/**
 * Registers a worker process for each of its queues, with the hash of its lease token. A worker
 * id already registered under another lease is left alone: a wrong token cannot add rows (and so
 * heartbeats it could keep fresh) under another worker's id. $4 is a JSON object of the job names
 * each queue has handlers for (`{ queue: [names] }`), stored so that names no live worker
 * handles can be reported.
 */
export function registerWorkerSql(s: string): string {
  return `INSERT INTO ${s}.workers (worker_id, queue, lease_hash, names)
SELECT $1, q, $2, ARRAY(SELECT jsonb_array_elements_text($4::jsonb -> q)) FROM unnest($3::text[]) AS q
WHERE NOT EXISTS (SELECT 1 FROM ${s}.workers w WHERE w.worker_id = $1 AND w.lease_hash <> $2)
ON CONFLICT (worker_id, queue) DO NOTHING`;
}

/**
 * Refreshes the rows of worker $1, only for the holder of the lease ($2 is the token's hash) and
 * only while the lease has not expired ($3 ms): once others may have rescued its jobs, a late
 * heartbeat changes nothing and the worker must register again under a new id.
 */
export function refreshWorkerSql(s: string): string {
  return `UPDATE ${s}.workers SET last_seen = now()
WHERE worker_id = $1 AND lease_hash = $2 AND last_seen > now() - $3 * interval '1 millisecond'
RETURNING queue`;
}

export function unregisterWorkerSql(s: string): string {
  return `DELETE FROM ${s}.workers WHERE worker_id = $1 AND lease_hash = $2`;
}
