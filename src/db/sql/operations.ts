import { JOB_COLUMNS } from './job-columns.js';
import { filterWhere, type FilterCriteria } from './job-filter.js';

/**
 * Operator verbs on jobs given by id ($1, a text[]), one statement each, so the single verbs and
 * each batch of a bulk verb are the same statement. Each locks its rows in id order (as the acks
 * do, so a bulk cancel and an ack batch never wait on each other in a cycle) and re-checks their status under the
 * lock: a verb racing a worker's ack, a claim or the rescuer sees the row as it is once they commit,
 * and does nothing if it no longer applies. Each returns one row per id found: its status before
 * (`was`), whether this statement changed it, and the status after.
 */

/** Statuses of a job waiting for a claim ('failed': written by a 0.1 process, see migration 0003). */
const WAITING = `('pending', 'retrying', 'failed')`;
/** Statuses nothing will run again. */
const FINISHED = `('done', 'killed', 'cancelled')`;

function lockIds(s: string): string {
  return `target AS (SELECT id, queue, status AS was FROM ${s}.jobs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE)`;
}

/** Rows in `changed` that were of queue q: one wake-up NOTIFY per queue on $2 (the jobs channel). */
function wakeQueues(changed: string): string {
  return `woken AS (
  SELECT pg_notify($2, json_build_object('queue', queue, 'ids', '[]'::json, 'count', count(*))::text) FROM ${changed} GROUP BY queue
)`;
}

function report(changedStatus: string): string {
  return `SELECT t.id, t.queue, t.was, c.id IS NOT NULL AS changed, CASE WHEN c.id IS NOT NULL THEN ${changedStatus} ELSE t.was END AS status,
       (SELECT count(*) FROM told)::int AS told
FROM target t LEFT JOIN changed c ON c.id = t.id ORDER BY t.id`;
}

/**
 * Waiting and running jobs become `cancelled`, finished. The processes running the running ones
 * hear it on $2 (the control channel), at most 200 ids a NOTIFY (payloads stay far below 8 kB),
 * each with the attempt it cancelled (`attempts`, index for index): a NOTIFY heard late must not
 * cancel the job's next attempt, claimed after a retry. Their late acks are fenced out (they
 * require `running`).
 */
export function cancelJobsSql(s: string): string {
  return `WITH ${lockIds(s)}, changed AS (
  UPDATE ${s}.jobs j SET status = 'cancelled', done_at = now(), locked_at = NULL
  FROM target t WHERE j.id = t.id AND t.was IN ('pending', 'retrying', 'failed', 'running')
  RETURNING j.id, t.was, j.attempts
), told AS (
  SELECT pg_notify($2, json_build_object('type', 'cancel', 'ids', json_agg(id ORDER BY id), 'attempts', json_agg(attempts ORDER BY id))::text)
  FROM (SELECT id, attempts, (row_number() OVER (ORDER BY id) - 1) / 200 AS grp FROM changed WHERE was = 'running') r GROUP BY grp
)
${report(`'cancelled'`)}`;
}

/**
 * Killed, cancelled and retrying jobs go back to `pending`, due now. $3 true: attempts start
 * again from 0; else a job with its attempts used up gets one more. A job never acked has no
 * `max_attempts` yet (its worker resolves the handler's): it keeps none, so a job cancelled
 * before it ran is retried with its handler's full allowance, not one attempt. `last_error` and
 * `errors` stay until the next attempt. $2 is the jobs channel: their queues are woken.
 */
export function retryJobsSql(s: string): string {
  return `WITH ${lockIds(s)}, changed AS (
  UPDATE ${s}.jobs j
  SET status = 'pending', run_at = now(), done_at = NULL, locked_at = NULL, locked_by = NULL,
      attempts = CASE WHEN $3 THEN 0 ELSE j.attempts END,
      max_attempts = CASE WHEN $3 OR j.max_attempts IS NULL OR j.attempts < j.max_attempts THEN j.max_attempts
                          ELSE j.attempts + 1 END
  FROM target t WHERE j.id = t.id AND t.was IN ('killed', 'cancelled', 'retrying', 'failed')
  RETURNING j.id, j.queue
), ${wakeQueues('changed')}, told AS (SELECT 1 FROM woken)
${report(`'pending'`)}`;
}

/** A waiting job due later becomes due now; its queue is woken ($2, the jobs channel). */
export function promoteJobsSql(s: string): string {
  return `WITH ${lockIds(s)}, changed AS (
  UPDATE ${s}.jobs j SET run_at = now()
  FROM target t WHERE j.id = t.id AND t.was IN ${WAITING} AND j.run_at > now()
  RETURNING j.id, j.queue
), ${wakeQueues('changed')}, told AS (SELECT 1 FROM woken)
${report('t.was')}`;
}

/** Deletes jobs that are not running (a running job's handler is still at work: cancel it first). */
export function deleteJobsSql(s: string): string {
  return `WITH ${lockIds(s)}, changed AS (
  DELETE FROM ${s}.jobs j USING target t WHERE j.id = t.id AND t.was <> 'running'
  RETURNING j.id
), told AS (SELECT 1 WHERE false)
${report(`'deleted'`)}`;
}

/** Up to $n ids of jobs matching the filter with an id after the cursor, in id order (keyset pagination). */
export function selectIdsSql(s: string, c: FilterCriteria): { sql: string; params: unknown[] } {
  const where = filterWhere(c, 3);
  return { sql: `SELECT id FROM ${s}.jobs WHERE id > $1 AND ${where.sql} ORDER BY id LIMIT $2`, params: where.params };
}

/** A page of jobs matching the filter: after ($1, exclusive) in the given order, at most $2. */
export function listJobsSql(s: string, c: FilterCriteria, order: 'asc' | 'desc'): { sql: string; params: unknown[] } {
  const where = filterWhere(c, 3);
  const after = order === 'asc' ? `($1::text IS NULL OR id > $1)` : `($1::text IS NULL OR id < $1)`;
  return { sql: `SELECT ${JOB_COLUMNS} FROM ${s}.jobs WHERE ${after} AND ${where.sql} ORDER BY id ${order} LIMIT $2`, params: where.params };
}

export { FINISHED as FINISHED_STATUSES };
