/**
 * The hand-off of a push to a ready worker of any process (migration 0006): the worker's
 * advertisement, its withdrawal, and the push that takes one.
 */

import { epochMs } from './claim-jobs.js';

/** Microseconds since the epoch of a timestamptz, as stored in ready_workers.listener_start. */
const epochMicros = (column: string) => `floor(round(date_part('epoch', ${column}) * 1000000))::bigint`;

/** The LISTEN connection's own backend, as a worker advertises it (run on that connection). */
export const LISTENER_IDENTITY_SQL = `SELECT pg_backend_pid() AS pid, ${epochMicros('backend_start')}::text AS started
FROM pg_stat_get_activity(pg_backend_pid())`;

/**
 * Worker $2 of queue $1 is ready for a hand-off, heard on the LISTEN backend ($3 pid, $4 its
 * start). Only while its lease row is live ($5 the lease hash): a worker whose lease expired
 * under it must not be handed jobs under that id.
 */
export function advertiseReadySql(s: string): string {
  return `INSERT INTO ${s}.ready_workers (queue, worker_id, listener_pid, listener_start)
SELECT $1, $2, $3, $4::bigint
WHERE EXISTS (SELECT 1 FROM ${s}.workers w WHERE w.worker_id = $2 AND w.queue = $1 AND w.lease_hash = $5)
ON CONFLICT (queue, worker_id) DO UPDATE SET listener_pid = EXCLUDED.listener_pid, listener_start = EXCLUDED.listener_start`;
}

/**
 * Withdraws worker $2's advertisement for queue $1. Waits for a push that has locked it: once
 * this returns, no push can hand that worker a job, and those that did have committed.
 */
export function withdrawReadySql(s: string): string {
  return `DELETE FROM ${s}.ready_workers WHERE queue = $1 AND worker_id = $2`;
}

/**
 * Inserts one due job, handed to a ready worker of queue $2 if there is one; else `pending`, as
 * insertJobsSql would (the trigger then sends the usual wake-up NOTIFY).
 *
 * A ready row is taken (deleted, SKIP LOCKED: concurrent pushes take different ones or none)
 * only if its worker handles name $3, is not worker $11 (this process's own, which has just
 * declined the job: see Fetcher.startDirect), has a heartbeat at most $9 ms old (the claim's lease fence), its LISTEN
 * backend is alive on this database (started when advertised; `backend_start` is NULL to a role
 * that may not see other roles' sessions, and then the pid alone is checked) and the queue is not
 * paused. The job is then inserted `running` at attempt 1 under that worker, and the job itself
 * travels in a NOTIFY on $10 (`handedTo` names the worker), so the worker starts it without a
 * claim: the push pays one index probe of a table of idle workers, and the pickup loses a round
 * trip. The caller keeps the NOTIFY under its 8,000-byte limit (it hands only small jobs).
 * $1 id, $2 queue, $3 name, $4 payload (JSON text), $5 max_attempts, $6 priority,
 * $7 metadata (JSON text), $8 idempotency_key, $9 lease (ms), $10 the jobs channel, $11 a worker
 * id to pass over (or NULL).
 */
export function insertHandedJobSql(s: string): string {
  return `WITH taken AS (
  DELETE FROM ${s}.ready_workers d
  WHERE (d.queue, d.worker_id) = (
    SELECT r.queue, r.worker_id FROM ${s}.ready_workers r
    WHERE r.queue = $2::text
      AND r.worker_id IS DISTINCT FROM $11::text
      AND EXISTS (SELECT 1 FROM ${s}.workers w
                  WHERE w.worker_id = r.worker_id AND w.queue = r.queue AND $3::text = ANY(w.names)
                    AND w.last_seen > now() - $9 * interval '1 millisecond')
      AND EXISTS (SELECT 1 FROM pg_stat_get_activity(r.listener_pid) a
                  WHERE a.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                    AND (a.backend_start IS NULL OR ${epochMicros('a.backend_start')} = r.listener_start))
      AND NOT EXISTS (SELECT 1 FROM ${s}.queues q WHERE q.name = $2::text AND q.paused)
    LIMIT 1
    FOR UPDATE OF r SKIP LOCKED)
  RETURNING d.worker_id
), job AS (
  INSERT INTO ${s}.jobs (id, queue, name, payload, max_attempts, priority, metadata, idempotency_key, status, attempts, locked_at, locked_by)
  SELECT $1::text, $2::text, $3::text, ($4::text)::jsonb, $5::int, $6::int, ($7::text)::jsonb, $8::text,
         CASE WHEN t.worker_id IS NULL THEN 'pending' ELSE 'running' END,
         CASE WHEN t.worker_id IS NULL THEN 0 ELSE 1 END,
         CASE WHEN t.worker_id IS NULL THEN NULL ELSE now() END,
         t.worker_id
  FROM (SELECT 1) AS one LEFT JOIN taken t ON true
  RETURNING locked_by, created_at
)
SELECT job.locked_by, pg_notify($10::text, json_build_object(
  'queue', $2::text, 'handedTo', job.locked_by, 'id', $1::text, 'name', $3::text, 'payload', ($4::text)::json,
  'max_attempts', $5::int, 'priority', $6::int, 'metadata', ($7::text)::json, 'idempotency_key', $8::text,
  'at', ${epochMs('job.created_at')})::text)
FROM job WHERE job.locked_by IS NOT NULL`;
}
