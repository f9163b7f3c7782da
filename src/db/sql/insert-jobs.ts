import type { ValidatedJob } from '../../encoding/validated-job.js';

/**
 * Inserts N jobs of one queue in one statement: the columns are zipped side by side with
 * ROWS FROM, so the statement's text is the same for 1 job or 10,000 (one prepared plan), and
 * the trigger sends one NOTIFY for the whole statement. Payloads and metadata travel as one JSON
 * array each ($4, $9), not as jsonb[]: no array-literal escaping of every payload on either side
 * (about 10% of a 10,000-job batch, measured with bench/probe-insert.mjs).
 */
export function insertJobsSql(s: string): string {
  return `INSERT INTO ${s}.jobs (id, queue, name, payload, max_attempts, priority, run_at, metadata, idempotency_key)
SELECT t.id, $1, t.name, t.payload, t.max_attempts, t.priority,
       coalesce(t.run_at, now() + coalesce(t.delay_ms, 0) * interval '1 millisecond'),
       t.metadata, t.idempotency_key
FROM ROWS FROM (unnest($2::text[]), unnest($3::text[]), jsonb_array_elements($4::jsonb), unnest($5::int[]), unnest($6::int[]),
                unnest($7::timestamptz[]), unnest($8::float8[]), jsonb_array_elements($9::jsonb), unnest($10::text[]))
  AS t(id, name, payload, max_attempts, priority, run_at, delay_ms, metadata, idempotency_key)`;
}

/** Parameters for insertJobsSql; `payload` and `metadata` of each job are JSON texts (validated). */
export function insertJobsParams(queue: string, ids: string[], jobs: ValidatedJob[]): unknown[] {
  const n = jobs.length;
  const names = new Array<string>(n);
  const payloads = new Array<string>(n);
  const maxAttempts = new Array<number | null>(n);
  const priorities = new Array<number>(n);
  const runAts = new Array<Date | null>(n);
  const delays = new Array<number | null>(n);
  const metadata = new Array<string>(n);
  const keys = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const j = jobs[i];
    names[i] = j.name;
    payloads[i] = j.payload;
    maxAttempts[i] = j.maxAttempts;
    priorities[i] = j.priority;
    runAts[i] = j.runAt;
    delays[i] = j.delayMs;
    metadata[i] = j.metadata;
    keys[i] = j.idempotencyKey;
  }
  return [queue, ids, names, `[${payloads.join(',')}]`, maxAttempts, priorities, runAts, delays, `[${metadata.join(',')}]`, keys];
}

/** After a unique violation: which of the given keys already exist (to name them in the error). */
export function existingKeysSql(s: string): string {
  return `SELECT idempotency_key FROM ${s}.jobs WHERE queue = $1 AND idempotency_key = ANY($2::text[])`;
}

/**
 * One job, as plain VALUES: the statement sent for a single push when it goes unnamed (in the
 * caller's transaction, or with `preparedStatements: false`), where every run is planned and
 * planning the ROWS FROM form above costs more than running it (5,000 single pushes, unnamed:
 * 2,058 jobs/s with that form, 2,488 with this one). Same columns and defaults as insertJobsSql;
 * its parameters are insertJobsParams' for one job.
 */
export function insertOneJobSql(s: string): string {
  return `INSERT INTO ${s}.jobs (id, queue, name, payload, max_attempts, priority, run_at, metadata, idempotency_key)
VALUES (($2::text[])[1], $1, ($3::text[])[1], ($4::jsonb)->0, ($5::int[])[1], ($6::int[])[1],
        coalesce(($7::timestamptz[])[1], now() + coalesce(($8::float8[])[1], 0) * interval '1 millisecond'),
        ($9::jsonb)->0, ($10::text[])[1])`;
}
