import { describe, expect, it } from 'vitest';
import { ackParams, type Ack } from '../../src/consumer/acker.js';
import { waitFor } from '../helpers/wait.js';
import { opsApp, starts } from '../admin/support.js';

/**
 * What the claim and the ack carry is built by hand, not by `pg` (see claim-jobs and
 * array-literal): the values must come through exactly, whatever they hold.
 */
describe('values through the claim and the ack', () => {
  const t = opsApp('clv', { queues: ['ops', 'side'], pollIntervalMs: 50 });

  it("a claimed job's runAt and createdAt are its row's times, truncated to the millisecond as pg reads them", async () => {
    const times = ['2020-01-01 00:00:00.999999+00', '2020-01-01 00:00:00.000001+00', '2020-01-01 00:00:00.123+00', '1999-12-31 23:59:59.5+00', '2024-02-29 12:34:56.789456+00'];
    const { rows } = await t.scope.pool.query(
      `INSERT INTO ${t.schema}.jobs (id, queue, name, payload, run_at, created_at)
       SELECT '01JF' || lpad(i::text, 22, '0'), 'ops', 'work', '{}', ts::timestamptz, ts::timestamptz - interval '1 microsecond'
       FROM unnest($1::text[]) WITH ORDINALITY AS u(ts, i) RETURNING id, run_at, created_at`,
      [times],
    );
    await waitFor('every job started', () => rows.every((r) => starts.some((s) => s.id === r.id)));
    for (const r of rows) {
      const job = starts.find((s) => s.id === r.id)!.job;
      expect(job.runAt.getTime(), r.id).toBe((r.run_at as Date).getTime());
      expect(job.createdAt.getTime(), r.id).toBe((r.created_at as Date).getTime());
    }
    expect(starts.find((s) => s.id === rows[0].id)!.job.runAt.toISOString()).toBe('2020-01-01T00:00:00.999Z');
    expect(starts.find((s) => s.id === rows[2].id)!.job.runAt.toISOString()).toBe('2020-01-01T00:00:00.123Z');
  });

  it('the ack arrays carry any text: quotes, backslashes, braces, commas, newlines, "NULL", empty strings', async () => {
    const texts = ['plain', 'a "quoted" word', 'back\\slash \\" both', '{braces}, commas', 'line\nbreak\ttab', 'NULL', '', 'ünïcødé ✓', '\\'];
    const acks: Ack[] = texts.map((text, i) => ({
      id: `01JG${String(i).padStart(22, '0')}`,
      queue: 'ops',
      name: 'work',
      durationMs: 1,
      attempt: i + 1,
      lockedBy: `worker "${i}" \\ {x}`,
      status: i % 2 ? 'done' : 'retrying',
      result: i % 3 ? JSON.stringify({ text }) : null,
      error: i % 3 ? text : null,
      retryDelayMs: i === 1 ? 1e21 : i / 2,
      maxAttempts: 25,
      progress: i % 2 ? JSON.stringify([text, i]) : null,
    }));
    const { rows } = await t.scope.pool.query(
      `SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::float8[], $8::int[], $9::jsonb[])
       AS a(id, attempt, locked_by, status, result, error, delay_ms, max_attempts, progress) ORDER BY id`,
      ackParams([...acks].reverse()),
    );
    expect(rows).toEqual(
      acks.map((a) => ({
        id: a.id,
        attempt: a.attempt,
        locked_by: a.lockedBy,
        status: a.status,
        result: a.result === null ? null : JSON.parse(a.result),
        error: a.error,
        delay_ms: a.retryDelayMs,
        max_attempts: 25,
        progress: a.progress === null ? null : JSON.parse(a.progress),
      })),
    );
    // Empty batches and single elements too.
    const empty = await t.scope.pool.query(`SELECT cardinality($1::text[]) AS n, cardinality($2::int[]) AS m`, ackParams([]).slice(0, 2));
    expect(empty.rows[0]).toEqual({ n: 0, m: 0 });
  });
});
