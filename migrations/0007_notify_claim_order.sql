-- nestjs-pg-queue schema, version 7.
-- A worker draining a backlog claims from where its last claim ended (its claim floor, see
-- src/consumer/claim-floor.ts) and must start from the queue's start again only when a new job
-- sorts before that point. The NOTIFY now says where the new rows sort: `top`, their highest
-- priority, and `firstMs`, their earliest run_at in epoch milliseconds (truncated). A listener of
-- an older version ignores the two fields; a notification without them clears every floor.
-- Everything else is as in version 2.
CREATE OR REPLACE FUNCTION {{schema}}.notify_jobs_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT queue,
           count(*) AS n,
           CASE WHEN count(*) <= 50 THEN array_agg(id ORDER BY id) ELSE ARRAY[]::text[] END AS ids,
           min(run_at) FILTER (WHERE run_at > clock_timestamp()) AS next_run_at,
           max(priority) AS top,
           floor(extract(epoch FROM min(run_at)) * 1000) AS first_ms
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
                        ELSE ceil(extract(epoch FROM r.next_run_at - clock_timestamp()) * 1000) END,
        'top', r.top,
        'firstMs', r.first_ms
      )::text
    );
  END LOOP;
  RETURN NULL;
END;
$$;
