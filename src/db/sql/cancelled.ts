/**
 * Which of the claims a process holds ($1 ids, $2 attempts, $3 locked_by) were cancelled: the
 * poll-time check, in case a cancel's NOTIFY was lost. Matched by claim, not by id: a job
 * cancelled, retried and claimed again is a new attempt the old cancel must not touch (one
 * retried and cancelled again, unlocked, is still at the held claim's attempt).
 */
export function cancelledAmongSql(s: string): string {
  return `SELECT j.id, j.attempts AS attempt FROM unnest($1::text[], $2::int[], $3::text[]) AS r(id, attempt, locked_by)
JOIN ${s}.jobs j ON j.id = r.id
WHERE j.status = 'cancelled' AND j.attempts = r.attempt AND (j.locked_by = r.locked_by OR j.locked_by IS NULL)`;
}
