/** A job this worker holds but will not run, to hand back to `pending`. */
export interface ReleasedJob {
  id: string;
  attempt: number;
  lockedBy: string;
}

/**
 * Gives up claims this worker holds but did not start (shutdown, a pause, held too long, a claim
 * beyond what it can hold, a cancel): each claim's attempt is undone, and a row still `running`
 * under it goes back to `pending`. The statement may land after an operator verb moved the row
 * on (the pool queues it behind their statements); a row cancelled since, or cancelled and
 * retried (pending and unlocked, with `attempts` kept; perhaps cancelled again), has its attempt
 * undone all the same, so `attempts` counts the attempts that ran. A row whose attempt count moved on (claimed again,
 * run, retried with a reset) is another claim's and is left alone. RETURNING: the rows now
 * pending, for the hand-back's NOTIFY.
 * $1 ids, $2 attempts, $3 locked_by.
 */
export function releaseJobsSql(s: string): string {
  return `UPDATE ${s}.jobs j
SET status = CASE WHEN j.status = 'running' THEN 'pending' ELSE j.status END,
    attempts = greatest(j.attempts - 1, 0), locked_at = NULL,
    locked_by = CASE WHEN j.status = 'running' THEN NULL ELSE j.locked_by END
FROM unnest($1::text[], $2::int[], $3::text[]) AS r(id, attempt, locked_by)
WHERE j.id = r.id AND j.attempts = r.attempt
  AND ((j.status IN ('running', 'cancelled') AND j.locked_by = r.locked_by) OR (j.status IN ('pending', 'cancelled') AND j.locked_by IS NULL))
RETURNING j.id, j.status`;
}

/**
 * releaseJobsSql, and a NOTIFY on channel $4 for queue $5 when any row went back to `pending`,
 * so that other processes claim them now rather than at their next poll.
 */
export function handBackJobsSql(s: string): string {
  return `WITH released AS (
${releaseJobsSql(s)}
)
SELECT pg_notify($4, json_build_object('queue', $5::text, 'ids', '[]'::json, 'count', count(*))::text)
FROM released WHERE status = 'pending' HAVING count(*) > 0`;
}

/** A claimed row, claimed under `lockedBy`, as a job to release. */
export function releasedJob(row: { id: string; attempts: number }, lockedBy: string): ReleasedJob {
  return { id: row.id, attempt: row.attempts, lockedBy };
}

/** Parameters for releaseJobsSql. */
export function releaseJobsParams(jobs: ReleasedJob[]): unknown[] {
  return [jobs.map((j) => j.id), jobs.map((j) => j.attempt), jobs.map((j) => j.lockedBy)];
}

/**
 * Self-reconciliation: jobs marked `running` under worker $2 in queue $1 that the worker is not
 * running (nor still acking), e.g. a claim whose reply was lost on a broken connection.
 * $3 is every id the worker does hold.
 */
export function reconcileJobsSql(s: string): string {
  return `UPDATE ${s}.jobs
SET status = 'pending', attempts = greatest(attempts - 1, 0), locked_at = NULL, locked_by = NULL
WHERE status = 'running' AND queue = $1 AND locked_by = $2 AND NOT (id = ANY($3::text[]))
RETURNING id`;
}
