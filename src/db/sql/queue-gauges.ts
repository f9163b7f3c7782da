import { WAITING_STATUSES } from './admin.js';

/**
 * Per queue ($1: the names): due waiting jobs, waiting jobs due later (delays, retry backoffs),
 * running jobs, and how long the oldest due one has waited (ms, database clock; null when none).
 * Each count reads only its partial index (the claim index for waiting rows, the running index
 * for running ones), so finished rows, however many, cost nothing; a backlog costs one index
 * entry per job, which is why the adapter reads this at most every few seconds.
 */
export function queueGaugesSql(s: string): string {
  return `SELECT q.queue, w.due, w.scheduled, w.oldest_due_ms, r.running
FROM unnest($1::text[]) AS q(queue)
CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE run_at <= now())::int AS due,
         count(*) FILTER (WHERE run_at > now())::int AS scheduled,
         ceil(extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now())) * 1000)::float8 AS oldest_due_ms
  FROM ${s}.jobs WHERE queue = q.queue AND status IN ${WAITING_STATUSES}
) w
CROSS JOIN LATERAL (
  SELECT count(*)::int AS running FROM ${s}.jobs WHERE queue = q.queue AND status = 'running'
) r`;
}
