import { claimJobsSql } from './claim-jobs.js';
import { completeJobsSql } from './complete-jobs.js';

/**
 * Under load a fetcher refills its slots while the acks of the jobs that just freed them are
 * queued: this writes those acks ($1-$9, as complete-jobs) and claims the next jobs ($10-$14, and
 * $15-$17 `fromFloor`, as claim-jobs) in one statement, so one round trip and one commit serve both. The two parts touch
 * different rows (acked rows are `running`, claimed rows are not). Rows with `acked` true are the
 * acks the fence let through; the others are claimed jobs.
 */
export function ackAndClaimSql(s: string, fromFloor = false): string {
  return `WITH acked AS (
${completeJobsSql(s)}
), claimed AS (
${claimJobsSql(s, 10, fromFloor)}
)
SELECT id, name, payload, attempts, max_attempts, priority, run_at, created_at, metadata, idempotency_key, false AS acked FROM claimed
UNION ALL
SELECT id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true FROM acked`;
}
