import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { countJobs, sinkOf } from './support.js';

/**
 * Measures and prints enqueue throughput. Asserts only correctness (row counts), never speed:
 * the figures depend on the machine and on what else runs on it.
 */
describe('enqueue throughput (printed, not asserted)', () => {
  const schema = uniqueSchema('thr');
  const pool = testPool();
  let app: INestApplication;

  beforeAll(async () => {
    app = await createQueueApp({ schema, queues: ['single', 'batch'] });
    await sinkOf(app, 'single').push('warmup', {}); // prepare the statement, open a connection
    await pool.query(`DELETE FROM "${schema}".jobs`);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('push, one at a time (2,000 sequential pushes)', async () => {
    const n = 2000;
    const sink = sinkOf(app, 'single');
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await sink.push('one', { i, email: `user${i}@example.com` });
    const ms = performance.now() - t0;
    console.log(`[throughput] push x${n} sequential: ${Math.round((n / ms) * 1000)} jobs/s (${ms.toFixed(0)} ms)`);
    expect(await countJobs(pool, schema, 'single')).toBe(n);
  });

  it('pushMany of 10,000 jobs in one call', async () => {
    const n = 10_000;
    const jobs = Array.from({ length: n }, (_, i) => ({ name: 'many', data: { i, email: `user${i}@example.com` } }));
    const t0 = performance.now();
    const ids = await sinkOf(app, 'batch').pushMany(jobs);
    const ms = performance.now() - t0;
    console.log(`[throughput] pushMany x${n}: ${Math.round((n / ms) * 1000)} jobs/s (${ms.toFixed(0)} ms)`);
    expect(ids).toHaveLength(n);
    expect(new Set(ids).size).toBe(n);
    expect(await countJobs(pool, schema, 'batch')).toBe(n);
  });
});
