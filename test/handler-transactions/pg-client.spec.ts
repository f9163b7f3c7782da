/**
 * `@Process(name, { transaction: true })` on the queue's own connection settings: the handler's
 * writes through `job.client` commit with the job's completion, roll back with a failure, a
 * timeout, a cancel or a closed fence, and never ride on the queue's own pool.
 */
import { Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoEntityManagerError, Process, Processor, QueueAdmin, type TransactionalJob } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { CapturingLogger } from '../helpers/logger.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';

type Charge = { key: string; mode?: 'ok' | 'fail' | 'hold' | 'snooze' | 'push' | 'manager' | 'slow' };

const schema = uniqueSchema('htx');
const s = pg.escapeIdentifier(schema);
/** Handlers waiting in "hold" mode, by key: the test releases them. */
const holds = new Map<string, { started: () => void; release: Promise<void> }>();
const seen: Record<string, unknown> = {};

const insertCharge = (job: TransactionalJob<Charge>) =>
  job.client.query(`INSERT INTO ${s}.charges (job_id, attempt, key) VALUES ($1, $2, $3)`, [job.id, job.attempt, job.data.key]);

@Processor('pay')
@Injectable()
class PayProcessor {
  @Process('charge', { transaction: true, maxAttempts: 2, backoff: { type: 'fixed', delayMs: 10 } })
  async charge(job: TransactionalJob<Charge>) {
    await insertCharge(job);
    switch (job.data.mode) {
      case 'fail':
        throw new Error(`declined ${job.data.key}`);
      case 'hold': {
        seen[`pid:${job.data.key}:${job.attempt}`] = (await job.client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        const h = holds.get(job.data.key)!;
        h.started();
        await h.release;
        break;
      }
      case 'snooze':
        if (job.attempt === 1 && !seen[`snoozed:${job.data.key}`]) {
          seen[`snoozed:${job.data.key}`] = true;
          return job.snooze(10);
        }
        break;
      case 'push':
        await sinkOf(app, 'pay').push('charge', { key: `${job.data.key}-child` }, { client: job.client });
        if (job.attempt === 1) throw new Error('fails after pushing its child');
        break;
      case 'manager':
        try {
          void job.manager;
        } catch (err) {
          seen.manager = err;
        }
        break;
    }
    return { charged: job.data.key };
  }

  @Process('slow', { transaction: true, timeoutMs: 150, maxAttempts: 1 })
  async slow(job: TransactionalJob<Charge>) {
    await insertCharge(job);
    await new Promise((r) => setTimeout(r, 400));
    // The attempt timed out meanwhile: its connection is closed, so this write cannot land anywhere.
    try {
      await insertCharge(job);
      seen.lateWrite = 'landed';
    } catch (err) {
      seen.lateWrite = (err as Error).message;
    }
  }

  /** Not transactional: proves the queue's own pool is free while every transactional slot is held. */
  @Process('plain')
  plain() {
    return 'plain';
  }
}

let app: INestApplication;

describe('handler transactions: job.client on the queue connection settings', () => {
  const pool = testPool();
  const logger = new CapturingLogger();
  let admin: QueueAdmin;

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA ${s}`);
    // No unique key: a second commit of a job's effects would show as a second row.
    await pool.query(`CREATE TABLE ${s}.charges (job_id text NOT NULL, attempt int NOT NULL, key text NOT NULL)`);
    // The queue's pool has 2 connections; 4 transactional slots run on a pool of their own.
    app = await createQueueApp(
      { schema, connection: { connectionString: databaseUrl(), max: 2 }, queues: [{ name: 'pay', concurrency: 4 }] },
      [PayProcessor],
      [],
      logger,
    );
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const charges = async (key: string) => (await pool.query(`SELECT job_id, attempt FROM ${s}.charges WHERE key = $1 ORDER BY attempt`, [key])).rows;
  const settled = (id: string, status: string) =>
    waitFor(`job ${id} to be ${status}`, async () => {
      const j = await admin.getJob(id);
      return j?.status === status ? j : null;
    });
  const hold = (key: string) => {
    const started = deferred();
    const release = deferred();
    holds.set(key, { started: started.resolve, release: release.promise });
    return { started: started.promise, release: release.resolve };
  };

  it('commits the handler\'s write with the job\'s completion', async () => {
    const id = await sinkOf(app, 'pay').push('charge', { key: 'ok-1' });
    const job = await settled(id, 'done');
    expect(job.result).toEqual({ charged: 'ok-1' });
    expect(await charges('ok-1')).toEqual([{ job_id: id, attempt: 1 }]);
  });

  it('rolls a failed attempt\'s write back and records the failure; the retry\'s write is the one kept', async () => {
    const id = await sinkOf(app, 'pay').push('charge', { key: 'fail-1', mode: 'fail' });
    const job = await settled(id, 'killed');
    expect(job.attempts).toBe(2);
    expect(job.errors.map((e) => e.attempt)).toEqual([1, 2]);
    expect(job.lastError).toContain('declined fail-1');
    expect(await charges('fail-1')).toEqual([]);
  });

  it('a push through job.client commits and rolls back with the attempt', async () => {
    const id = await sinkOf(app, 'pay').push('charge', { key: 'parent', mode: 'push' });
    await settled(id, 'done');
    // Attempt 1 pushed a child and failed: that child was rolled back. Attempt 2's child is the only one.
    const children = await pool.query(`SELECT id FROM ${s}.jobs WHERE payload->>'key' = 'parent-child'`);
    expect(children.rows).toHaveLength(1);
    await settled(children.rows[0].id, 'done');
    expect(await charges('parent')).toEqual([{ job_id: id, attempt: 2 }]);
    expect(await charges('parent-child')).toHaveLength(1);
  });

  it('a snooze commits its write with the snooze; the next attempt\'s with its completion', async () => {
    const id = await sinkOf(app, 'pay').push('charge', { key: 'snz', mode: 'snooze' });
    const job = await settled(id, 'done');
    expect(job.attempts).toBe(1);
    // Both runs were attempt 1 (a snooze does not count one): two writes, each committed with its outcome.
    expect(await charges('snz')).toEqual([
      { job_id: id, attempt: 1 },
      { job_id: id, attempt: 1 },
    ]);
  });

  it('refuses the commit of an attempt whose lease moved on, and rolls its write back', async () => {
    const h = hold('stale');
    const id = await sinkOf(app, 'pay').push('charge', { key: 'stale', mode: 'hold' });
    await h.started;
    // As if a rescue had handed it to another worker that claimed it (attempt 2 under another id).
    await pool.query(`UPDATE ${s}.jobs SET locked_by = 'another-worker', attempts = attempts + 1 WHERE id = $1`, [id]);
    h.release();
    await waitFor('the stale ack to be reported', () => logger.lines.some((l) => l.includes(`stale ack ignored: job ${id}`)));
    expect(await charges('stale')).toEqual([]);
    const row = (await pool.query(`SELECT status, locked_by, attempts FROM ${s}.jobs WHERE id = $1`, [id])).rows[0];
    expect(row).toEqual({ status: 'running', locked_by: 'another-worker', attempts: 2 });
    await pool.query(`UPDATE ${s}.jobs SET status = 'cancelled', done_at = now(), locked_by = NULL WHERE id = $1`, [id]);
  });

  it('a timeout closes the transaction under the running handler: nothing it wrote lands, later writes fail', async () => {
    const id = await sinkOf(app, 'pay').push('slow', { key: 'slow' });
    const job = await settled(id, 'killed');
    expect(job.lastError).toContain('JobTimeoutError');
    await waitFor('the late write to be tried', () => seen.lateWrite !== undefined, 5000);
    expect(seen.lateWrite).not.toBe('landed');
    expect(await charges('slow')).toEqual([]);
  });

  it('a cancel of a running job: the handler returns, nothing commits, the job stays cancelled', async () => {
    const h = hold('cancel');
    const id = await sinkOf(app, 'pay').push('charge', { key: 'cancel', mode: 'hold' });
    await h.started;
    expect((await admin.cancel(id)).outcome).toBe('cancelled');
    h.release();
    await waitFor('the slot to be free again', async () => (await pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE status = 'running'`)).rows[0].n === 0);
    const job = await admin.getJob(id);
    expect(job!.status).toBe('cancelled');
    expect(await charges('cancel')).toEqual([]);
  });

  it('a connection that ends under a held transaction fails the attempt without crashing; the retry commits', async () => {
    const h = hold('term');
    const id = await sinkOf(app, 'pay').push('charge', { key: 'term', mode: 'hold' });
    await h.started;
    // The session ends between the handler's statements (as the server does to a frozen worker).
    const pid = seen['pid:term:1'];
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await waitFor('the session to end', async () => (await pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0].n === 0);
    hold('term').release();
    h.release();
    const job = await settled(id, 'done');
    expect(job.attempts).toBe(2);
    expect(job.errors[0].error).toContain(`the transaction of job ${id} could not commit`);
    expect(await charges('term')).toEqual([{ job_id: id, attempt: 2 }]);
  });

  it('job.manager without the dataSource option throws NoEntityManagerError naming the handler', async () => {
    const id = await sinkOf(app, 'pay').push('charge', { key: 'mgr', mode: 'manager' });
    await settled(id, 'done');
    expect(seen.manager).toBeInstanceOf(NoEntityManagerError);
    expect((seen.manager as Error).message).toContain('PayProcessor.charge');
    expect((seen.manager as Error).message).toContain('dataSource');
  });

  it('with every transactional slot held, the queue\'s own 2-connection pool still claims, acks and heartbeats', async () => {
    const held = ['h1', 'h2', 'h3', 'h4'].map((k) => ({ k, h: hold(k) }));
    const ids = await sinkOf(app, 'pay').pushMany(held.map(({ k }) => ({ name: 'charge', data: { key: k, mode: 'hold' } })));
    await Promise.all(held.map(({ h }) => h.started));
    // Four slots, four open transactions; a plain job can start only after one ends, and acks still land.
    const plain = await sinkOf(app, 'pay').push('plain', null);
    held[0].h.release();
    await settled(plain, 'done');
    for (const { h } of held) h.release();
    for (const id of ids) await settled(id, 'done');
    for (const { k } of held) expect(await charges(k)).toHaveLength(1);
  });
});
