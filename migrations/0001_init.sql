-- nestjs-pg-queue schema, version 1.
-- {{schema}} is replaced by the quoted, validated schema name before this file runs.

CREATE TABLE {{schema}}.jobs (
  id              text COLLATE "C" PRIMARY KEY,      -- ULID: byte order is time order
  queue           text NOT NULL,
  name            text NOT NULL,
  payload         jsonb NOT NULL,
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'running', 'done', 'failed', 'killed')),
  attempts        integer NOT NULL DEFAULT 0,
  -- NULL means "the handler's, queue's or module's default", resolved by the worker.
  max_attempts    integer CHECK (max_attempts >= 1),
  priority        integer NOT NULL DEFAULT 0,
  run_at          timestamptz NOT NULL DEFAULT now(),
  created_at      timestamptz NOT NULL DEFAULT now(),
  locked_at       timestamptz,
  locked_by       text,
  done_at         timestamptz,
  last_error      text,
  result          jsonb,
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
  idempotency_key text
);

-- The claim walks this index in claim order; finished rows are not in it, so a table with
-- millions of done jobs claims as fast as an empty one.
CREATE INDEX jobs_claim_idx ON {{schema}}.jobs (queue, priority DESC, run_at, id)
  WHERE status IN ('pending', 'failed');

-- Rescue and self-reconciliation look only at running jobs.
CREATE INDEX jobs_running_idx ON {{schema}}.jobs (locked_by, queue)
  WHERE status = 'running';

CREATE UNIQUE INDEX jobs_queue_idempotency_key_idx ON {{schema}}.jobs (queue, idempotency_key)
  WHERE idempotency_key IS NOT NULL;

-- One row per live worker process and queue. The lease token itself never leaves the process;
-- only its hash is stored, and only a holder of the token can refresh the row.
CREATE TABLE {{schema}}.workers (
  worker_id   text NOT NULL,
  queue       text NOT NULL,
  lease_hash  text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  last_seen   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (worker_id, queue)
);

-- One NOTIFY per INSERT statement and queue (not per row), delivered by Postgres on commit only.
-- The channel is "<schema>.jobs". Large batches send the count instead of every id to stay far
-- below NOTIFY's 8000-byte payload limit; delay_ms is the earliest future run_at, for timers.
CREATE FUNCTION {{schema}}.notify_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT queue,
           count(*) AS n,
           CASE WHEN count(*) <= 50 THEN array_agg(id ORDER BY id) ELSE ARRAY[]::text[] END AS ids,
           min(run_at) FILTER (WHERE run_at > clock_timestamp()) AS next_run_at
    FROM new_rows
    GROUP BY queue
  LOOP
    PERFORM pg_notify(
      TG_TABLE_SCHEMA || '.jobs',
      json_build_object(
        'queue', r.queue,
        'ids', r.ids,
        'count', r.n,
        'delayMs', CASE WHEN r.next_run_at IS NULL THEN NULL
                        ELSE ceil(extract(epoch FROM r.next_run_at - clock_timestamp()) * 1000) END
      )::text
    );
  END LOOP;
  RETURN NULL;
END;
$$;

CREATE TRIGGER jobs_notify_inserted
  AFTER INSERT ON {{schema}}.jobs
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.notify_jobs_inserted();
