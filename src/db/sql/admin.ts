import { JOB_COLUMNS } from './job-columns.js';

export function getJobSql(s: string): string {
  return `SELECT ${JOB_COLUMNS} FROM ${s}.jobs WHERE id = $1`;
}

export function statsSql(s: string): string {
  return `SELECT queue, status, count(*)::int AS count FROM ${s}.jobs GROUP BY queue, status`;
}

/** Statuses of a job waiting to be claimed ('failed' from a 0.1 process during a rolling deploy). */
export const WAITING_STATUSES = `('pending', 'retrying', 'failed')`;

/**
 * Due jobs by queue and name that no live worker (a heartbeat newer than $1 ms) has a handler
 * for: they would wait forever. $2, when not null, limits the answer to one queue; $3 counts only
 * jobs due for at least that many ms (0 for all).
 */
export function unhandledDueSql(s: string): string {
  return `SELECT j.queue, j.name, count(*)::int AS count
FROM ${s}.jobs j
WHERE j.status IN ${WAITING_STATUSES} AND j.run_at <= now() - $3 * interval '1 millisecond' AND ($2::text IS NULL OR j.queue = $2)
  AND NOT EXISTS (
    SELECT 1 FROM ${s}.workers w
    WHERE w.queue = j.queue AND j.name = ANY(w.names) AND w.last_seen > now() - $1 * interval '1 millisecond'
  )
GROUP BY j.queue, j.name
ORDER BY j.queue, j.name`;
}

/**
 * The oldest due waiting job's run_at, for the lag: a loose index scan of the claim index
 * (queue, priority DESC, run_at, id): one descent per distinct priority finds it, then one per
 * priority reads that priority's earliest run_at. A few index probes, whatever the table's size.
 * $1 queue.
 */
export function oldestDueSql(s: string): string {
  const waiting = `queue = $1 AND status IN ${WAITING_STATUSES}`;
  return `WITH RECURSIVE p AS (
  SELECT (SELECT priority FROM ${s}.jobs WHERE ${waiting} ORDER BY priority DESC LIMIT 1) AS priority
  UNION ALL
  SELECT (SELECT priority FROM ${s}.jobs WHERE ${waiting} AND priority < p.priority ORDER BY priority DESC LIMIT 1) FROM p WHERE p.priority IS NOT NULL
)
SELECT ceil(extract(epoch FROM now() - min(first_run_at)) * 1000)::float8 AS lag_ms
FROM (SELECT (SELECT run_at FROM ${s}.jobs WHERE ${waiting} AND priority = p.priority ORDER BY priority DESC, run_at LIMIT 1) AS first_run_at
      FROM p WHERE p.priority IS NOT NULL) f
WHERE first_run_at <= now()`;
}

/**
 * Running jobs by queue whose worker has not heartbeaten for $1 ms (two heartbeats missed): they
 * will be rescued at the orphan timeout. Reads the running-jobs index, which holds only running rows.
 */
export function staleRunningSql(s: string): string {
  return `SELECT j.queue, count(*)::int AS count FROM ${s}.jobs j
WHERE j.status = 'running' AND NOT EXISTS (
  SELECT 1 FROM ${s}.workers w WHERE w.worker_id = j.locked_by AND w.queue = j.queue AND w.last_seen > now() - $1 * interval '1 millisecond'
)
GROUP BY j.queue`;
}

/**
 * Counts of the statuses a job waits or runs in, by queue: each arm matches one partial index's
 * predicate (jobs_claim_idx, jobs_running_idx), so the read stays small however many finished rows
 * the table holds.
 */
export function activeCountsSql(s: string): string {
  return `SELECT queue, status, count(*)::int AS count FROM ${s}.jobs WHERE status IN ${WAITING_STATUSES} GROUP BY queue, status
UNION ALL
SELECT queue, status, count(*)::int AS count FROM ${s}.jobs WHERE status = 'running' GROUP BY queue, status`;
}

/** The table's row count as the planner last saw it (autovacuum's ANALYZE): free to read. */
export function tableEstimateSql(s: string): string {
  return `SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = '${s}.jobs'::regclass`;
}

/** The planner's estimate of one queue's rows in one status (read from EXPLAIN's plan, nothing is counted). */
export function statusEstimateSql(s: string): string {
  return `EXPLAIN (FORMAT JSON) SELECT 1 FROM ${s}.jobs WHERE queue = $1 AND status = $2`;
}
