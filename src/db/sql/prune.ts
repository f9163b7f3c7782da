/**
 * Deletes up to $4 finished jobs of status $1 in queues $3 that finished more than $2 ms ago,
 * oldest first, through the finished-jobs index (status, done_at). One statement, one short
 * transaction: it first tries the schema's prune lock ($5, a transaction-scoped advisory lock, so
 * it holds through a transaction-mode pooler); when another process holds it, nothing is deleted
 * and `locked` says so, so one process prunes at a time without any leader. Rows locked by
 * another statement (an operator's delete) are skipped.
 */
export function pruneJobsSql(s: string): string {
  return `WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtext('nestjs-pg-queue:prune'), hashtext($5)) AS got),
doomed AS (
  SELECT id FROM ${s}.jobs
  WHERE (SELECT got FROM lock) AND status = $1 AND done_at < now() - $2 * interval '1 millisecond' AND queue = ANY($3::text[])
  ORDER BY done_at
  LIMIT $4
  FOR UPDATE SKIP LOCKED
), deleted AS (
  DELETE FROM ${s}.jobs WHERE id IN (SELECT id FROM doomed) RETURNING 1
)
SELECT (SELECT count(*) FROM deleted)::int AS deleted, NOT (SELECT got FROM lock) AS locked`;
}
