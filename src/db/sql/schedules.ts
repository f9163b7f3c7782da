/**
 * The statements of recurring jobs (see migrations/0005_schedules.sql). Slots are computed in
 * the process (croner) from the database's clock, which each statement returns or takes.
 */

const COLUMNS = `key, owner, queue, name, cron, tz, template, catch_up, definition_hash, next_slot, last_slot,
  last_enqueued_slot, last_enqueued_at, paused, created_at, updated_at`;

export function databaseNowSql(): string {
  return `SELECT now() AS now`;
}

/**
 * An app's declared schedules ($2, a JSON array) become its rows (owner $1), in one statement:
 * new ones are added with `last_slot` = $3 (the database's now: nothing before it is owed), changed
 * ones (another definition hash) are updated and restart after max(last_slot, $3), so the current
 * slot never runs twice; rows of this owner it no longer declares are deleted. A key held by
 * another owner is left alone and reported in `foreign`.
 */
export function reconcileSchedulesSql(s: string): string {
  return `WITH d AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb)
    AS d(key text, queue text, name text, cron text, tz text, template jsonb, catch_up jsonb, hash text, next_slot timestamptz)
), upserted AS (
  INSERT INTO ${s}.schedules AS sc (key, owner, queue, name, cron, tz, template, catch_up, definition_hash, next_slot, last_slot)
  SELECT key, $1, queue, name, cron, tz, template, catch_up, hash, next_slot, $3::timestamptz FROM d
  ON CONFLICT (key) DO UPDATE SET
    queue = EXCLUDED.queue, name = EXCLUDED.name, cron = EXCLUDED.cron, tz = EXCLUDED.tz,
    template = EXCLUDED.template, catch_up = EXCLUDED.catch_up, definition_hash = EXCLUDED.definition_hash,
    next_slot = CASE WHEN sc.definition_hash = EXCLUDED.definition_hash THEN sc.next_slot ELSE EXCLUDED.next_slot END,
    last_slot = CASE WHEN sc.definition_hash = EXCLUDED.definition_hash THEN sc.last_slot ELSE greatest(sc.last_slot, $3::timestamptz) END,
    updated_at = CASE WHEN sc.definition_hash = EXCLUDED.definition_hash THEN sc.updated_at ELSE now() END
  WHERE sc.owner = $1
  RETURNING sc.key
), removed AS (
  DELETE FROM ${s}.schedules WHERE owner = $1 AND key NOT IN (SELECT key FROM d) RETURNING key
)
SELECT (SELECT count(*) FROM upserted)::int AS kept, (SELECT count(*) FROM removed)::int AS removed,
       ARRAY(SELECT d.key FROM d WHERE d.key NOT IN (SELECT key FROM upserted)) AS foreign,
       ARRAY(SELECT owner FROM ${s}.schedules WHERE key IN (SELECT d.key FROM d WHERE d.key NOT IN (SELECT key FROM upserted)) ORDER BY key) AS foreign_owners`;
}

/**
 * Every schedule of owner $1 that is not paused, with the database's now and, for each, whether it
 * is due by now + $2 ms and how many ms until its next slot (for the scheduler's next wake-up).
 */
export function ownedSchedulesSql(s: string): string {
  return `SELECT ${COLUMNS}, now() AS now, next_slot <= now() + $2 * interval '1 millisecond' AS due,
       ceil(extract(epoch FROM next_slot - now()) * 1000)::float8 AS next_in_ms
FROM ${s}.schedules WHERE owner = $1 AND NOT paused
ORDER BY next_slot`;
}

/**
 * One step of schedule $1: enqueues a job per slot ($4 timestamptz[], ids $5), each due at its
 * slot, with the schedule and slot in its metadata and `schedule:<key>:<slot>` as its idempotency
 * key; then moves `last_slot` to $6 and `next_slot` to $7. Only from the state the step was
 * planned on (`last_slot` $2 and definition $3, row locked): a process that got there first has
 * moved it, and this step does nothing. Each slot's key is unique in its queue besides.
 */
export function enqueueSlotsSql(s: string): string {
  return `WITH sc AS (
  SELECT * FROM ${s}.schedules
  WHERE key = $1 AND NOT paused AND definition_hash = $3 AND last_slot IS NOT DISTINCT FROM $2::timestamptz
  FOR UPDATE
), ins AS (
  INSERT INTO ${s}.jobs (id, queue, name, payload, max_attempts, priority, run_at, metadata, idempotency_key)
  SELECT t.id, sc.queue, sc.name, sc.template->'data', (sc.template->>'maxAttempts')::int, (sc.template->>'priority')::int, t.slot,
         (sc.template->'metadata') || jsonb_build_object('schedule', sc.key, 'slot', t.slot),
         'schedule:' || sc.key || ':' || to_char(t.slot AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
  FROM sc, unnest($4::timestamptz[], $5::text[]) AS t(slot, id)
  ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING id, run_at
), advanced AS (
  UPDATE ${s}.schedules u
  SET last_slot = $6::timestamptz, next_slot = $7::timestamptz,
      last_enqueued_slot = coalesce((SELECT max(run_at) FROM ins), u.last_enqueued_slot),
      last_enqueued_at = CASE WHEN EXISTS (SELECT 1 FROM ins) THEN now() ELSE u.last_enqueued_at END
  FROM sc WHERE u.key = sc.key
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS enqueued, (SELECT count(*) FROM advanced)::int AS advanced`;
}

export function listSchedulesSql(s: string): string {
  return `SELECT ${COLUMNS} FROM ${s}.schedules WHERE ($1::text IS NULL OR key = $1) ORDER BY key`;
}

export function pauseScheduleSql(s: string): string {
  return `UPDATE ${s}.schedules SET paused = true, updated_at = now() WHERE key = $1 RETURNING ${COLUMNS}`;
}

/** Slots that fell in the pause are not owed: it restarts after the database's now ($2), at $3. */
export function resumeScheduleSql(s: string): string {
  return `UPDATE ${s}.schedules SET paused = false, last_slot = greatest(last_slot, $2::timestamptz), next_slot = $3, updated_at = now()
WHERE key = $1 AND paused RETURNING ${COLUMNS}`;
}

/** A job from the schedule's template, due now, outside the slots ($2 its id). */
export function triggerScheduleSql(s: string): string {
  return `INSERT INTO ${s}.jobs (id, queue, name, payload, max_attempts, priority, metadata)
SELECT $2, queue, name, template->'data', (template->>'maxAttempts')::int, (template->>'priority')::int,
       (template->'metadata') || jsonb_build_object('schedule', key, 'slot', NULL, 'trigger', 'manual')
FROM ${s}.schedules WHERE key = $1
RETURNING id`;
}

/** A live worker (heartbeat within $3 ms) with a handler for job $2 of queue $1: one row, or none. */
export function liveHandlerSql(s: string): string {
  return `SELECT 1 FROM ${s}.workers WHERE queue = $1 AND $2 = ANY(names) AND last_seen > now() - $3 * interval '1 millisecond' LIMIT 1`;
}
