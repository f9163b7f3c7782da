export type AckStatus = 'done' | 'failed' | 'killed';

/**
 * Records the outcome of many attempts in one statement. Fenced: a row changes only while it is
 * still `running` under the worker id and attempt that ran it, so a late ack from a worker whose
 * job was rescued (or re-claimed) changes nothing. RETURNING tells which acks landed.
 * The rows are found through the primary key (`id = ANY($1)`), not through the running-jobs index,
 * whose entries for this worker churn with every claim.
 * $1 ids, $2 attempts, $3 locked_by, $4 statuses, $5 results (jsonb), $6 errors, $7 retry delays (ms).
 */
export function completeJobsSql(s: string): string {
  return `UPDATE ${s}.jobs j
SET status = a.status,
    done_at = CASE WHEN a.status = 'failed' THEN NULL ELSE now() END,
    result = CASE WHEN a.status = 'done' THEN a.result ELSE j.result END,
    last_error = CASE WHEN a.status = 'done' THEN j.last_error ELSE a.error END,
    run_at = CASE WHEN a.status = 'failed' THEN now() + a.delay_ms * interval '1 millisecond' ELSE j.run_at END,
    locked_at = NULL
FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::float8[])
  AS a(id, attempt, locked_by, status, result, error, delay_ms)
WHERE j.id = ANY($1::text[]) AND j.id = a.id AND j.status = 'running' AND j.locked_by = a.locked_by AND j.attempts = a.attempt
RETURNING j.id`;
}
