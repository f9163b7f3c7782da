-- nestjs-pg-queue schema, version 5: recurring jobs.
--
-- One row per schedule an app declares (@Cron, or the `schedules` option). `owner` is the
-- declaring app's `scheduleOwner`: an app's bootstrap adds, updates and removes its own rows only.
-- Each slot is enqueued once, by whichever process gets there first: the enqueue statement locks
-- the row and advances `last_slot` (the last slot considered, enqueued or skipped by the catch-up
-- policy) only from the value it read, and the job's idempotency key (schedule key and slot) is
-- unique in its queue.
CREATE TABLE {{schema}}.schedules (
  key                text PRIMARY KEY,
  owner              text NOT NULL,
  queue              text NOT NULL,
  name               text NOT NULL,
  cron               text NOT NULL,
  tz                 text NOT NULL,
  -- The job template and the catch-up policy, as declared.
  template           jsonb NOT NULL,
  catch_up           jsonb NOT NULL,
  -- A hash of cron, tz, template and catch-up: what changed at a reconcile.
  definition_hash    text NOT NULL,
  next_slot          timestamptz NOT NULL,
  last_slot          timestamptz,
  last_enqueued_slot timestamptz,
  last_enqueued_at   timestamptz,
  paused             boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX schedules_owner_next_idx ON {{schema}}.schedules (owner, next_slot);
