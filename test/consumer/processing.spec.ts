import { Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueAdmin, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const runs: Array<{ id: string; name: string; attempt: number; job: Job }> = [];
const failUntil = new Map<string, number>();

@Processor('work')
@Injectable()
class WorkProcessor {
  constructor() {}

  @Process('record')
  record(job: Job) {
    runs.push({ id: job.id, name: job.name, attempt: job.attempt, job });
    return { ok: true };
  }

  @Process('flaky', { backoff: { type: 'fixed', delayMs: 10 } })
  flaky(job: Job<{ key: string }>) {
    runs.push({ id: job.id, name: job.name, attempt: job.attempt, job });
    if (job.attempt < (failUntil.get(job.data.key) ?? 0)) throw new Error(`flaky failure ${job.attempt}`);
    return job.attempt;
  }

  @Process('always-fails')
  alwaysFails(job: Job) {
    runs.push({ id: job.id, name: job.name, attempt: job.attempt, job });
    throw new Error('nope');
  }

  @Process('push-then-fail')
  async pushThenFail(job: Job<{ child: string }>) {
    runs.push({ id: job.id, name: job.name, attempt: job.attempt, job });
    await sink.push('record', { child: job.data.child });
    throw new Error('failed after pushing');
  }
}

let sink: QueueSink;

describe('consumer: processing', () => {
  const schema = uniqueSchema();
  const pool = testPool();
  let app: INestApplication;
  let admin: QueueAdmin;

  beforeAll(async () => {
    app = await createQueueApp({ schema, queues: [{ name: 'work', concurrency: 4 }], maxAttempts: 5 }, [WorkProcessor]);
    sink = app.get(getSinkToken('work'));
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const status = (id: string, want: string) =>
    waitFor(`job ${id} to be ${want}`, async () => {
      const j = await admin.getJob(id);
      return j?.status === want ? j : null;
    });

  it('runs a handler exactly once, stores its result and gives it every Job field', async () => {
    const runAt = new Date(Date.now() - 1000);
    const id = await sink.push('record', { a: 1 }, { priority: 3, maxAttempts: 2, metadata: { m: 'x' }, idempotencyKey: 'once-1', runAt });
    const rec = await status(id, 'done');
    expect(rec.result).toEqual({ ok: true });
    expect(rec.attempts).toBe(1);
    expect(rec.doneAt).toBeInstanceOf(Date);
    const mine = runs.filter((r) => r.id === id);
    expect(mine).toHaveLength(1);
    const job = mine[0].job;
    expect(job).toMatchObject({ id, queue: 'work', name: 'record', data: { a: 1 }, attempt: 1, maxAttempts: 2, priority: 3, metadata: { m: 'x' }, idempotencyKey: 'once-1' });
    expect(job.runAt.getTime()).toBe(runAt.getTime());
    expect(job.createdAt).toBeInstanceOf(Date);
    expect(job.signal).toBeInstanceOf(AbortSignal);
    expect(job.signal.aborted).toBe(false);
    // The worker's own state stays out of sight: serializing or spreading a job shows its data fields.
    expect(Object.keys(JSON.parse(JSON.stringify(job))).sort()).toEqual(
      ['attempt', 'createdAt', 'data', 'id', 'idempotencyKey', 'maxAttempts', 'metadata', 'name', 'priority', 'queue', 'runAt'],
    );
    expect({ ...job }).toMatchObject({ id, data: { a: 1 } });
    expect(typeof job.progress).toBe('function');
    expect(typeof job.snooze).toBe('function');
  });

  it('a job failing twice then succeeding shows attempts 1, 2, 3, the resolved maxAttempts and the two errors as history', async () => {
    failUntil.set('f3', 3);
    const id = await sink.push('flaky', { key: 'f3' });
    const rec = await status(id, 'done');
    expect(rec.attempts).toBe(3);
    expect(rec.result).toBe(3);
    // Pushed without maxAttempts: the module's 5, as the worker resolved it, not null.
    expect(rec.maxAttempts).toBe(5);
    // The latest attempt succeeded: no lastError; the failed ones are kept, oldest first.
    expect(rec.lastError).toBeNull();
    expect(rec.errors.map((e) => e.attempt)).toEqual([1, 2]);
    rec.errors.forEach((e, i) => {
      expect(e.error).toMatch(new RegExp(`^Error: flaky failure ${i + 1}\\n\\s+at `));
      expect(e.at).toBeInstanceOf(Date);
    });
    expect(rec.errors[0].at.getTime()).toBeLessThanOrEqual(rec.errors[1].at.getTime());
    expect(runs.filter((r) => r.id === id).map((r) => r.attempt)).toEqual([1, 2, 3]);
  });

  it('a failed attempt is recorded as retrying with last_error and run_at pushed out', async () => {
    const id = await sink.push('always-fails', {}, { maxAttempts: 3 });
    // Read in the same statement as the status: what the failed attempt wrote, however late we look.
    const failed = await waitFor(`job ${id} to be retrying`, async () => {
      const r = await pool.query(
        `SELECT status, attempts, last_error, extract(epoch FROM run_at - created_at) * 1000 AS pushed_out_ms FROM ${schema}.jobs WHERE id = $1`,
        [id],
      );
      return r.rows[0]?.status === 'retrying' ? r.rows[0] : null;
    });
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toContain('Error: nope');
    // Default backoff: 1 s with jitter in [50%, 100%], counted on the database clock from the
    // failure, which came after the job was created: run_at is at least 500 ms past created_at.
    expect(Number(failed.pushed_out_ms)).toBeGreaterThanOrEqual(500);
    const rec = await status(id, 'killed');
    expect(rec.attempts).toBe(3);
    expect(rec.lastError).toContain('Error: nope');
    expect(rec.lastError).toContain('at '); // the stack is kept
    expect(rec.errors.map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(rec.errors[2].error).toBe(rec.lastError);
  });

  it('maxAttempts 1 plus a throw ends killed and is never fetched again', async () => {
    const id = await sink.push('always-fails', {}, { maxAttempts: 1 });
    const rec = await status(id, 'killed');
    expect(rec.attempts).toBe(1);
    // Later jobs run (so fetchers went round several times), and the killed one did not run again.
    const later = await sink.push('record', {});
    await status(later, 'done');
    const poll = await sink.push('record', {}, { delayMs: 300 });
    await status(poll, 'done');
    expect(runs.filter((r) => r.id === id)).toHaveLength(1);
    expect((await admin.getJob(id))!.attempts).toBe(1);
  });

  it('a push made inside a handler is durable even when that handler then fails', async () => {
    const id = await sink.push('push-then-fail', { child: 'c-1' }, { maxAttempts: 1 });
    await status(id, 'killed');
    const child = await waitFor('child job done', async () => {
      const r = await pool.query(`SELECT id, status FROM ${schema}.jobs WHERE name = 'record' AND payload->>'child' = 'c-1'`);
      return r.rows[0]?.status === 'done' ? r.rows[0] : null;
    });
    expect(child.id).toBeTruthy();
  });

  it('a delayed job does not run early and runs once due (database clock)', async () => {
    const pushedAt = Date.now();
    const id = await sink.push('record', { delayed: true }, { delayMs: 700 });
    const rec = await status(id, 'done');
    const run = runs.find((r) => r.id === id)!;
    expect(run).toBeTruthy();
    const row = await pool.query(`SELECT run_at, created_at, done_at FROM ${schema}.jobs WHERE id = $1`, [id]);
    expect(row.rows[0].done_at.getTime()).toBeGreaterThanOrEqual(row.rows[0].run_at.getTime());
    expect(row.rows[0].run_at.getTime() - row.rows[0].created_at.getTime()).toBeGreaterThanOrEqual(699);
    expect(Date.now() - pushedAt).toBeGreaterThanOrEqual(690);
    expect(rec.attempts).toBe(1);
  });

  it('runs in priority order, then run_at, then id', async () => {
    // Pause pickup by pushing into the past inside one transaction, so all are visible at once.
    const client = await pool.connect();
    const ids: Record<string, string> = {};
    try {
      await client.query('BEGIN');
      ids.low = await sink.push('record', { p: 'low' }, { priority: -5, client });
      ids.mid1 = await sink.push('record', { p: 'mid1' }, { priority: 0, client });
      ids.mid2 = await sink.push('record', { p: 'mid2' }, { priority: 0, client });
      ids.high = await sink.push('record', { p: 'high' }, { priority: 10, client });
      ids.older = await sink.push('record', { p: 'older' }, { priority: 0, client, runAt: new Date(Date.now() - 60_000) });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    for (const id of Object.values(ids)) await status(id, 'done');
    const rows = await pool.query(`SELECT id FROM ${schema}.jobs WHERE id = ANY($1) ORDER BY locked_at, id`, [Object.values(ids)]);
    // Claimed in one statement (same locked_at), so compare the order in which the handler started.
    const order = runs.filter((r) => Object.values(ids).includes(r.id)).map((r) => (r.job.data as { p: string }).p);
    expect(order).toEqual(['high', 'older', 'mid1', 'mid2', 'low']);
    expect(rows.rowCount).toBe(5);
  });
});
