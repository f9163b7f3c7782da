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
