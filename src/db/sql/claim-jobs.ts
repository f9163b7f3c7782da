/** Columns a worker needs to build a `Job<T>`; listed, never `*`. */
export interface ClaimedRow {
  id: string;
  name: string;
  payload: unknown;
  attempts: number;
  max_attempts: number | null;
  priority: number;
  /** Milliseconds since the epoch (see claimJobsSql). */
  run_at: number;
  created_at: number;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
}

/**
 * A timestamptz as whole epoch milliseconds, truncated as a Date holds it. Rounded to the
 * microsecond first: `date_part` is float8 seconds, and 0.123 s times 1000 can come out as
 * 122.99999, which truncation would make a millisecond early.
 */
export const epochMs = (column: string) => `floor(round(date_part('epoch', ${column}) * 1000000) / 1000)`;

/**
 * A claim from a floor reads the claim index from the key ($q priority, $q+1 run_at in epoch
 * milliseconds, $q+2 id) of the last job an earlier claim took, instead of from the queue's start
 * (see ClaimFloor). The run_at bound is the floor's millisecond, built by integer-exact interval
 * arithmetic, so it is never above the row's own microseconds: rows of that millisecond are read
 * again, none above the floor is passed over. Only the floor's priority is read: a job of a lower
 * priority is found by the full claim that follows a short one.
 */
function floorCondition(q: number): string {
  return `
    AND priority = $${q} AND (run_at, id) > (timestamptz 'epoch' + $${q + 1}::float8 * interval '1 millisecond', $${q + 2}::text)`;
}

/**
 * Claims up to $4 due jobs of queue $2 whose names are in $3, for worker $1, in claim order
 * (priority, then run_at, then id). Parameters start at $p (default $1). SKIP LOCKED lets many
 * processes claim at once without waiting on each other; the inner SELECT walks the partial claim
 * index, and the outer UPDATE finds the chosen rows through the primary key (`id = ANY(ARRAY(...))`)
 * whatever the plan: a join on the subquery can be planned as a scan of the whole table. Every
 * comparison uses the database's now().
 * Lease fence: nothing is claimed unless worker $1 has a heartbeat for the queue newer than $5 ms
 * (the orphan timeout). A process resumed after a freeze (SIGSTOP, a long GC, a suspended VM)
 * would otherwise claim under an identity whose jobs others already treat as orphans: its
 * heartbeat renews the identity a moment later and abandons those jobs, and they run twice.
 * Pause: nothing is claimed from a queue paused in the `queues` table (one primary-key lookup,
 * planned once for the statement), so a pause holds from the moment it commits, NOTIFY or not.
 * With `fromFloor`, $6-$8 are a floor (see floorCondition).
 * The two times come back as epoch milliseconds (float8): a timestamptz's text, parsed by `pg`
 * with a regular expression into a Date, was a sixth of what the worker allocated per job.
 */
export function claimJobsSql(s: string, p = 1, fromFloor = false): string {
  return `UPDATE ${s}.jobs j
SET status = 'running', attempts = j.attempts + 1, locked_at = now(), locked_by = $${p}
WHERE j.id = ANY(ARRAY(
  SELECT id FROM ${s}.jobs
  WHERE queue = $${p + 1} AND status IN ('pending', 'retrying', 'failed') AND run_at <= now() AND name = ANY($${p + 2}::text[])
    AND EXISTS (
      SELECT 1 FROM ${s}.workers w
      WHERE w.worker_id = $${p} AND w.queue = $${p + 1} AND w.last_seen > now() - $${p + 4} * interval '1 millisecond'
    )
    AND NOT EXISTS (SELECT 1 FROM ${s}.queues q WHERE q.name = $${p + 1} AND q.paused)${fromFloor ? floorCondition(p + 5) : ''}
  ORDER BY priority DESC, run_at, id
  LIMIT $${p + 3}
  FOR UPDATE SKIP LOCKED
))
RETURNING j.id, j.name, j.payload, j.attempts, j.max_attempts, j.priority,
  ${epochMs('j.run_at')} AS run_at, ${epochMs('j.created_at')} AS created_at, j.metadata, j.idempotency_key`;
}
