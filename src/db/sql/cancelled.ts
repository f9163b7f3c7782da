/** Which of the given jobs ($1) are cancelled: the poll-time check of the jobs a process holds, in case a cancel's NOTIFY was lost. */
export function cancelledAmongSql(s: string): string {
  return `SELECT id FROM ${s}.jobs WHERE id = ANY($1::text[]) AND status = 'cancelled'`;
}

/**
 * Cancelled jobs a worker had claimed but not started (held ahead of its slots, then dropped):
 * their claim's attempt is undone, so `attempts` counts the attempts that ran. Fenced by the
 * claim (locked_by, attempt) and by `cancelled`: a job retried meanwhile is left alone.
 * $1 ids, $2 attempts, $3 locked_by.
 */
export function undoUnstartedAttemptsSql(s: string): string {
  return `UPDATE ${s}.jobs j SET attempts = greatest(j.attempts - 1, 0)
FROM unnest($1::text[], $2::int[], $3::text[]) AS r(id, attempt, locked_by)
WHERE j.id = r.id AND j.status = 'cancelled' AND j.locked_by = r.locked_by AND j.attempts = r.attempt`;
}
