import { appendErrorSql } from './complete-jobs.js';

const RESCUE_ERROR = `'worker ' || coalesce(j.locked_by, '?') || ' stopped heartbeating during attempt ' || j.attempts`;

/**
 * Any live process runs this: `running` jobs whose worker has no heartbeat newer than $1 ms
 * (including a worker with no row at all) go back to `pending` with their attempt still counted,
 * or to `killed` when that was the last attempt. Each queue that got jobs back is NOTIFYed on $2
 * so idle fetchers everywhere claim them at once. Worker rows long expired are removed.
 * SKIP LOCKED: a row locked now is being acked (a transactional handler's fenced commit, an
 * operator verb); waiting on it would hold this statement's other locks for that long. Whatever
 * it is, the next pass sees the row as it ends up.
 */
export function rescueOrphansSql(s: string): string {
  return `WITH rescued AS (
  UPDATE ${s}.jobs j
  SET status = CASE WHEN j.max_attempts IS NOT NULL AND j.attempts >= j.max_attempts THEN 'killed' ELSE 'pending' END,
      done_at = CASE WHEN j.max_attempts IS NOT NULL AND j.attempts >= j.max_attempts THEN now() ELSE NULL END,
      last_error = ${RESCUE_ERROR},
      errors = ${appendErrorSql('j.errors', 'j.attempts', RESCUE_ERROR)},
      locked_at = NULL,
      locked_by = NULL
  WHERE j.id IN (
    SELECT o.id FROM ${s}.jobs o
    WHERE o.status = 'running'
      AND o.locked_at < now() - $1 * interval '1 millisecond'
      AND NOT EXISTS (
        SELECT 1 FROM ${s}.workers w
        WHERE w.worker_id = o.locked_by AND w.queue = o.queue AND w.last_seen > now() - $1 * interval '1 millisecond'
      )
    FOR UPDATE OF o SKIP LOCKED
  )
  RETURNING j.id, j.queue, j.name, j.attempts, j.status, j.last_error
), woken AS (
  SELECT pg_notify($2, json_build_object('queue', queue, 'ids', '[]'::json, 'count', count(*))::text)
  FROM rescued WHERE status = 'pending' GROUP BY queue
), expired AS (
  DELETE FROM ${s}.workers WHERE last_seen < now() - 10 * $1 * interval '1 millisecond'
  RETURNING 1
)
SELECT (SELECT count(*) FROM rescued)::int AS rescued,
       (SELECT count(*) FROM woken)::int AS woken,
       (SELECT count(*) FROM expired)::int AS expired,
       (SELECT coalesce(json_agg(json_build_object('id', id, 'queue', queue, 'name', name, 'attempt', attempts, 'status', status, 'error', last_error)), '[]'::json) FROM rescued) AS jobs`;
}
