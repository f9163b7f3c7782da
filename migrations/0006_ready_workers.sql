-- nestjs-pg-queue schema, version 6: hand-offs to ready workers of other processes.
--
-- A worker with a free slot whose last claim found its queue empty advertises itself here; a
-- push from any process (outside a transaction, due now) takes one such row with SKIP LOCKED,
-- inserts the job already claimed by that worker and sends the job itself in the NOTIFY, so the
-- worker starts it without a claim of its own (src/db/sql/insert-handed-job.ts).
--
-- `listener_pid` and `listener_start` (microseconds since the epoch) name the backend of the
-- worker's LISTEN connection: a push hands a job only to a worker whose LISTEN backend is alive
-- on this server and database, so a killed process (its connections close at once) or a LISTEN
-- connection elsewhere is never handed a job it cannot hear of. The row is one-shot: the push
-- that takes it deletes it, and the worker advertises again once it has started the job.
CREATE TABLE {{schema}}.ready_workers (
  queue          text NOT NULL,
  worker_id      text NOT NULL,
  listener_pid   int NOT NULL,
  listener_start bigint NOT NULL,
  PRIMARY KEY (queue, worker_id),
  -- Gone with its worker's lease row (unregistered at shutdown, or swept long after a crash).
  FOREIGN KEY (worker_id, queue) REFERENCES {{schema}}.workers (worker_id, queue) ON DELETE CASCADE
);
