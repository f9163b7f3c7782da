-- nestjs-pg-queue schema, version 4: operating the queue.
--
-- 1. Status 'cancelled': a job an operator cancelled; nothing runs it again (QueueAdmin.cancel).
-- 2. `progress`: the JSON value a handler last reported with job.progress().
-- 3. `queues`: one row per queue an operator paused (or resumed): pause is cluster-wide and
--    survives restarts; claims and direct starts of a paused queue take nothing.
-- 4. An index for retention: finished rows by status and finish time, so pruning reads only what
--    it deletes.

ALTER TABLE {{schema}}.jobs DROP CONSTRAINT IF EXISTS jobs_status_check;
ALTER TABLE {{schema}}.jobs ADD CONSTRAINT jobs_status_check
  CHECK (status IN ('pending', 'running', 'done', 'retrying', 'killed', 'cancelled', 'failed'));

ALTER TABLE {{schema}}.jobs ADD COLUMN progress jsonb;

CREATE TABLE {{schema}}.queues (
  name          text PRIMARY KEY,
  paused        boolean NOT NULL DEFAULT false,
  paused_reason text,
  paused_at     timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX jobs_finished_idx ON {{schema}}.jobs (status, done_at)
  WHERE status IN ('done', 'killed', 'cancelled');
