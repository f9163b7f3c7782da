-- nestjs-pg-queue schema, version 2.
-- A job pushed by a process whose worker for the queue is idle is inserted already claimed by
-- that worker (status 'running', see src/db/sql/insert-started-job.ts): no other worker can take
-- it, so waking every listening process for it would only cost each of them an empty claim.
-- The trigger now notifies for pending rows only; everything else is as in version 1.
CREATE OR REPLACE FUNCTION {{schema}}.notify_jobs_inserted() RETURNS trigger
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
    WHERE status = 'pending'
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
