/**
 * Transactional handlers racing operator verbs: 300 jobs on 8 slots, a third of the first attempts
 * failing after their write, while cancels and retries land at random moments. Whatever the
 * interleaving, a job's database effects exist exactly when it is done, once, from the attempt
 * that completed it.
 */
import { Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Process, Processor, QueueAdmin, type TransactionalJob } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';

const schema = uniqueSchema('htxr');
const s = pg.escapeIdentifier(schema);
const JOBS = 300;

@Processor('effects')
@Injectable()
class EffectsProcessor {
  @Process('write', { transaction: true, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 5 } })
  async write(job: TransactionalJob<{ n: number }>) {
    await job.client.query(`INSERT INTO ${s}.effects (job_id, attempt) VALUES ($1, $2)`, [job.id, job.attempt]);
    await new Promise((r) => setTimeout(r, job.data.n % 7));
    if (job.attempt === 1 && job.data.n % 3 === 0) throw new Error('fails after its write');
    return job.attempt;
  }
}

describe('handler transactions: racing cancel and retry', () => {
  const pool = testPool();
  let app: INestApplication;

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA ${s}`);
    await pool.query(`CREATE TABLE ${s}.effects (job_id text NOT NULL, attempt int NOT NULL)`);
    app = await createQueueApp({ schema, queues: [{ name: 'effects', concurrency: 8 }] }, [EffectsProcessor]);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('effects exist exactly for done jobs, once each, from their completing attempt', async () => {
    const admin = app.get(QueueAdmin);
    const ids = await sinkOf(app, 'effects').pushMany(Array.from({ length: JOBS }, (_, n) => ({ name: 'write', data: { n } })));
    // Cancel every fifth job and retry what got cancelled early, while the workers run.
    let verbs = 0;
    for (let i = 0; i < ids.length; i += 5) {
      await admin.cancel(ids[i]);
      verbs++;
      if (i % 15 === 0) {
        await admin.retry(ids[i]).catch(() => undefined);
        verbs++;
      }
    }
    expect(verbs).toBeGreaterThan(60);
    await waitFor(
      'every job to end',
      async () => (await pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE status IN ('pending', 'running', 'retrying')`)).rows[0].n === 0,
      60_000,
      50,
    );
    const rows = (
      await pool.query(`SELECT j.id, j.status, j.attempts, coalesce(array_agg(e.attempt) FILTER (WHERE e.attempt IS NOT NULL), '{}') AS effects
       FROM ${s}.jobs j LEFT JOIN ${s}.effects e ON e.job_id = j.id GROUP BY j.id, j.status, j.attempts`)
    ).rows;
    expect(rows).toHaveLength(JOBS);
    const wrong = rows.filter((r) => (r.status === 'done' ? r.effects.length !== 1 || r.effects[0] !== r.attempts : r.effects.length !== 0));
    expect(wrong).toEqual([]);
    const count = (status: string) => rows.filter((r) => r.status === status).length;
    // The race had both outcomes: some cancels won, the rest completed. A retried job gets one
    // more attempt than it had used (QueueAdmin.retry), which for these (n % 15 === 0) fails: killed.
    expect(count('cancelled')).toBeGreaterThan(0);
    expect(count('done')).toBeGreaterThan(JOBS / 2);
    expect(count('done') + count('cancelled') + count('killed')).toBe(JOBS);
    // The failed first attempts (every third job that got that far) were rolled back and retried.
    expect(rows.filter((r) => r.status === 'done' && r.attempts === 2).length).toBeGreaterThan(0);
  });
});
