/**
 * QueueAdmin.stats() on a large table: past 500,000 rows the finished statuses are the planner's
 * estimates (listed in `estimated`), so the dashboard's overview never scans the table; waiting and
 * running jobs stay exact. Below the limit every count is exact.
 */
import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSinkToken, QueueAdmin, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';

const FINISHED = 600_000;

describe('QueueAdmin.stats on a table past the exact-count limit', () => {
  const schema = uniqueSchema('est');
  const s = pg.escapeIdentifier(schema);
  const pool = testPool();
  let app: INestApplication;

  beforeAll(async () => {
    app = await createQueueApp({ schema, queues: ['big', 'small'], workers: false });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('counts exactly while small, then estimates done/killed/cancelled and still counts waiting jobs exactly', async () => {
    const admin = app.get(QueueAdmin);
    await app.get<QueueSink>(getSinkToken('big')).pushMany(Array.from({ length: 7 }, (_, i) => ({ name: 'x', data: { i } })));
    const small = await admin.stats();
    expect(small.big).toMatchObject({ pending: 7, done: 0, estimated: [] });
    const c = await pool.connect();
    try {
      await c.query('SET session_replication_role = replica'); // no NOTIFY per history row
      await c.query(
        `INSERT INTO ${s}.jobs (id, queue, name, payload, status, attempts, run_at, created_at, locked_by, done_at)
         SELECT '0000' || lpad(g::text, 22, '0'), 'big', 'x', '{}', CASE WHEN g % 10 = 0 THEN 'killed' ELSE 'done' END, 1,
                now() - interval '1 day', now() - interval '1 day', 'old', now() - interval '1 day'
         FROM generate_series(1, $1::int) g`,
        [FINISHED],
      );
      await c.query('RESET session_replication_role');
      await c.query(`ANALYZE ${s}.jobs`);
    } finally {
      c.release();
    }
    const big = await admin.stats();
    expect(big.big.estimated).toEqual(['done', 'killed', 'cancelled']);
    expect(big.big.pending).toBe(7);
    expect(big.big.running).toBe(0);
    // ANALYZE samples 30,000 rows: its estimate is within a few percent of the truth.
    expect(Math.abs(big.big.done - 0.9 * FINISHED) / (0.9 * FINISHED)).toBeLessThan(0.1);
    expect(Math.abs(big.big.killed - 0.1 * FINISHED) / (0.1 * FINISHED)).toBeLessThan(0.2);
    expect(big.small.done).toBe(0);
    expect(big.small.pending).toBe(0);
  }, 120_000);
});
