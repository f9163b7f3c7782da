/**
 * Milliseconds until the earliest job of a queue that is waiting for its `run_at` (pending, or
 * retrying), by the database's clock; NULL when none waits.
 * After a LISTEN (re)connect the NOTIFYs of the gap are gone, their `delayMs` hints with them:
 * this gives the fetcher its timer back. $1 queue.
 */
export function nextDueSql(s: string): string {
  return `SELECT ceil(extract(epoch FROM min(run_at) - now()) * 1000)::float8 AS delay_ms
FROM ${s}.jobs
WHERE queue = $1 AND status IN ('pending', 'retrying', 'failed') AND run_at > now()`;
}
