/**
 * The dashboard's reads beyond QueueAdmin.stats. Each is bounded by an index whatever the table's
 * size: finished jobs of the last hour by the finished-jobs index on (status, done_at), running
 * jobs by the running-jobs partial index, workers by their own small table.
 */

/** Per queue and minute of the last hour: jobs done and jobs killed. */
export function throughputSql(s: string): string {
  return `SELECT queue, (extract(epoch FROM date_trunc('minute', done_at)) * 1000)::float8 AS minute,
       count(*) FILTER (WHERE status = 'done')::int AS done, count(*) FILTER (WHERE status = 'killed')::int AS failed
FROM ${s}.jobs
WHERE status IN ('done', 'killed') AND done_at > now() - interval '1 hour'
GROUP BY 1, 2 ORDER BY 1, 2`;
}

/** Live workers (heartbeat within $1 ms): per process and queue, heartbeat age and running jobs. */
export function liveWorkersSql(s: string): string {
  return `SELECT w.worker_id, w.queue, w.started_at, (extract(epoch FROM now() - w.last_seen) * 1000)::float8 AS heartbeat_age_ms,
       w.names, coalesce(r.running, 0)::int AS running
FROM ${s}.workers w
LEFT JOIN (SELECT locked_by, queue, count(*) AS running FROM ${s}.jobs WHERE status = 'running' GROUP BY 1, 2) r
  ON r.locked_by = w.worker_id AND r.queue = w.queue
WHERE w.last_seen > now() - $1 * interval '1 millisecond'
ORDER BY w.queue, w.worker_id`;
}
