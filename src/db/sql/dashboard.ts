/**
 * The dashboard's reads beyond QueueAdmin.stats. Each is bounded by an index whatever the table's
 * size: finished jobs of the last hour by the finished-jobs index on (status, done_at), running
 * jobs by the running-jobs partial index, workers by their own small table.
 */

/**
 * Jobs done and killed per minute since $1 (epoch ms), all queues together: a range of the
 * finished-jobs index on (status, done_at), which holds both columns, so on a vacuumed table it is
 * read without visiting the rows. Busy tables finish millions of jobs an hour: ThroughputMinutes
 * reads the whole hour rarely and the last two minutes on every tick.
 */
export function throughputSinceSql(s: string): string {
  const minute = (status: string) => `SELECT (extract(epoch FROM date_trunc('minute', done_at)) * 1000)::float8 AS minute, '${status}' AS status, count(*)::int AS n
  FROM ${s}.jobs WHERE status = '${status}' AND done_at >= to_timestamp($1::float8 / 1000) GROUP BY 1`;
  return `${minute('done')}
UNION ALL
${minute('killed')}`;
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

/**
 * An error's shape: its first line with ids (ULIDs, UUIDs), hex strings and numbers blanked, so
 * "order 123 not found" and "order 456 not found" group together; and its top stack frame, the
 * same way (line and column numbers blanked).
 */
function shapeOf(text: string): string {
  return `regexp_replace(regexp_replace(regexp_replace(${text},
    '[0-9A-HJKMNP-TV-Z]{26}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<id>', 'g'),
    '\\m[0-9a-fA-F]{16,}\\M', '<hex>', 'g'), '[0-9]+', '#', 'g')`;
}

const SHAPE = shapeOf(`split_part(coalesce(last_error, ''), E'\\n', 1)`);
const FRAME = `coalesce(${shapeOf(`substring(last_error FROM E'\\n\\\\s*at ([^\\n]*)')`)}, '')`;

/**
 * Failed jobs grouped by fingerprint (queue, name, the error's shape and top frame): the latest $1
 * killed jobs by the finished-jobs index and up to $1 waiting retries, so the read stays bounded on
 * any table. $2: one queue, or null for all.
 */
export function failureGroupsSql(s: string): string {
  const failed = (where: string, order: string) => `(SELECT id, queue, name, status, last_error FROM ${s}.jobs
    WHERE ${where} AND ($2::text IS NULL OR queue = $2) ${order} LIMIT $1)`;
  return `WITH failed AS (
  ${failed(`status = 'killed'`, 'ORDER BY done_at DESC')}
  UNION ALL
  ${failed(`status IN ('retrying', 'failed')`, '')}
), shaped AS (
  SELECT id, queue, name, status, last_error,
         ${shapeOf(`split_part(coalesce(last_error, ''), E'\\n', 1)`)} AS shape,
         coalesce(${shapeOf(`substring(last_error FROM E'\\n\\\\s*at ([^\\n]*)')`)}, '') AS frame
  FROM failed
)
SELECT md5(queue || E'\\n' || name || E'\\n' || shape || E'\\n' || frame) AS fingerprint, queue, name, shape, frame,
       count(*)::int AS count, count(*) FILTER (WHERE status = 'killed')::int AS killed, max(id) AS latest_id,
       (array_agg(last_error ORDER BY id DESC))[1] AS latest_error
FROM shaped GROUP BY queue, name, shape, frame ORDER BY count(*) DESC, max(id) DESC`;
}

/** The killed jobs of one fingerprint (see failureGroupsSql), at most $1, for "retry this group". */
export function failureGroupIdsSql(s: string): string {
  return `SELECT id FROM (
  SELECT id, md5(queue || E'\\n' || name || E'\\n' || ${shapeOf(`split_part(coalesce(last_error, ''), E'\\n', 1)`)} || E'\\n' ||
         coalesce(${shapeOf(`substring(last_error FROM E'\\n\\\\s*at ([^\\n]*)')`)}, '')) AS fingerprint
  FROM ${s}.jobs WHERE status = 'killed' ORDER BY done_at DESC LIMIT $1
) f WHERE fingerprint = $2`;
}

/** How many jobs a filter selects, counted up to $1 (a preview before a bulk action). */
export function countUpToSql(s: string, where: string, first: number): string {
  return `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${s}.jobs WHERE ${where} LIMIT $${first}) c`;
}
