/**
 * Pause state of queues, cluster-wide: a row per queue an operator paused or resumed. Claims and
 * direct starts read it (see claim-jobs, insert-started-job); these statements write it and tell
 * the workers on the control channel, and a resume also wakes the queue's fetchers on the jobs
 * channel so they claim at once. Pause: $1 queue, $2 reason, $3 control channel. Resume: $1
 * queue, $2 control channel, $3 jobs channel.
 */
export function pauseQueueSql(s: string): string {
  return `WITH upserted AS (
  INSERT INTO ${s}.queues AS q (name, paused, paused_reason, paused_at, updated_at)
  VALUES ($1, true, $2, now(), now())
  ON CONFLICT (name) DO UPDATE
    SET paused = true, paused_reason = $2, paused_at = CASE WHEN q.paused THEN q.paused_at ELSE now() END, updated_at = now()
  RETURNING name, paused, paused_reason, paused_at
), told AS (SELECT pg_notify($3, json_build_object('type', 'pause', 'queue', $1::text)::text))
SELECT u.*, (SELECT count(*) FROM told)::int AS told FROM upserted u`;
}

export function resumeQueueSql(s: string): string {
  return `WITH updated AS (
  UPDATE ${s}.queues SET paused = false, paused_reason = NULL, paused_at = NULL, updated_at = now()
  WHERE name = $1 AND paused
  RETURNING name
), told AS (
  SELECT pg_notify($2, json_build_object('type', 'resume', 'queue', $1::text)::text),
         pg_notify($3, json_build_object('queue', $1::text, 'ids', '[]'::json)::text)
  FROM updated
)
SELECT (SELECT count(*) FROM updated)::int AS resumed, (SELECT count(*) FROM told)::int AS told`;
}

export function queueStatesSql(s: string): string {
  return `SELECT name, paused, paused_reason, paused_at FROM ${s}.queues WHERE paused AND ($1::text IS NULL OR name = $1)`;
}

/** For the `startPaused` queue option: pauses a queue that has no recorded state yet (a resume is never undone by a restart). */
export function startPausedSql(s: string): string {
  return `INSERT INTO ${s}.queues (name, paused, paused_reason, paused_at) SELECT q, true, 'startPaused option', now() FROM unnest($1::text[]) AS q
ON CONFLICT (name) DO NOTHING`;
}
