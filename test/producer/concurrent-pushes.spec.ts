import type { INestApplication } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, DuplicateJobIdError, IdempotencyConflictError, Process, Processor, type Job } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { nextJobId } from '../../src/producer/job-id.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { countInsertStatements, countJobs, rejectionOf, sinkOf } from './support.js';

describe('concurrent pushes share statements (group commit)', () => {
  const schema = uniqueSchema('group');
  const pool = testPool();
  let app: INestApplication;
  let statements: () => Promise<number>;

  beforeAll(async () => {
    // A producer-only process (no worker): every push is an INSERT of its own, or a hand-off attempt.
    app = await createQueueApp({ schema, workers: false });
    statements = await countInsertStatements(pool, schema);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('300 pushes and 3 pushMany calls made at once: every job stored under its id, in a handful of statements', async () => {
    const before = await statements();
    const sink = sinkOf(app);
    const singles = Array.from({ length: 300 }, (_, i) => sink.push('single', { i }));
    const batches = Array.from({ length: 3 }, (_, b) => sink.pushMany(Array.from({ length: 50 }, (_, i) => ({ name: 'batch', data: { b, i } }))));
    const ids = [...(await Promise.all(singles)), ...(await Promise.all(batches)).flat()];
    expect(new Set(ids).size).toBe(450);
    const { rows } = await pool.query<{ id: string; name: string; payload: { i: number } }>(`SELECT id, name, payload FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = ANY($1)`, [ids]);
    expect(rows).toHaveLength(450);
    // Each push's id names its own job.
    const byId = new Map(rows.map((r) => [r.id, r]));
    const singleIds = ids.slice(0, 300);
    expect(singleIds.every((id, i) => byId.get(id)!.name === 'single' && byId.get(id)!.payload.i === i)).toBe(true);
    // Alone, 303 calls are 303 statements; grouped: the ones sent at once (two, and a hand-off
    // attempt of the first push), then one group of the rest.
    expect((await statements()) - before).toBeLessThanOrEqual(4);
  });

  it('a duplicate id or idempotency key in a group fails its own call only; two calls with one new key: exactly one is stored', async () => {
    const sink = sinkOf(app);
    const takenId = await sink.push('seed', {}, { id: nextJobId() });
    await sink.push('seed', {}, { idempotencyKey: 'group-taken-key' });
    const before = await countJobs(pool, schema);
    const fillers = Array.from({ length: 40 }, (_, i) => sink.push('filler', { i }));
    // Each outcome is observed as the call is made (a rejection is never left unhandled).
    const dupId = rejectionOf(sink.push('dup-id', {}, { id: takenId }));
    const dupKey = rejectionOf(sink.push('dup-key', {}, { idempotencyKey: 'group-taken-key' }));
    const twins = Promise.allSettled([
      sink.push('twin', { a: true }, { idempotencyKey: 'group-twin' }),
      sink.push('twin', { b: true }, { idempotencyKey: 'group-twin' }),
    ]);
    const batch = sink.pushMany([{ name: 'm', data: 1 }, { name: 'm', data: 2 }]);

    expect(await Promise.all(fillers)).toHaveLength(40);
    expect(await batch).toHaveLength(2);
    const idErr = await dupId;
    expect(idErr).toBeInstanceOf(DuplicateJobIdError);
    expect(idErr.jobId).toBe(takenId);
    const keyErr = await dupKey;
    expect(keyErr).toBeInstanceOf(IdempotencyConflictError);
    expect(keyErr.idempotencyKey).toBe('group-taken-key');
    const settled = await twins;
    expect(settled.filter((t) => t.status === 'fulfilled')).toHaveLength(1);
    const lost = settled.find((t) => t.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(IdempotencyConflictError);
    // 40 fillers, 2 of the batch, 1 twin: nothing else written, nothing lost.
    expect(await countJobs(pool, schema)).toBe(before + 43);
  });
});

describe('a grouped push that cannot reach the database', () => {
  const schema = uniqueSchema('groupdown');
  const pool = testPool();
  const real = new URL(databaseUrl());
  const proxy = new TcpProxy(real.hostname, Number(real.port || 5432));
  let app: INestApplication;

  beforeAll(async () => {
    await proxy.start();
    const url = new URL(databaseUrl());
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    app = await createQueueApp({ schema, workers: false, connection: { connectionString: url.toString(), max: 4 } });
  });
  afterAll(async () => {
    await app?.close();
    await proxy.stop();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('fails every call with DatabaseUnavailableError naming its own job ids; none of them is written; pushes work again after', async () => {
    const sink = sinkOf(app);
    await sink.push('warm', {});
    proxy.refuse();
    proxy.cutAll();
    const singleIds = Array.from({ length: 20 }, () => nextJobId());
    const manyIds = [nextJobId(), nextJobId(), nextJobId()];
    // Two go out at once, the other 19 calls as one group: every call fails on its own ids.
    const calls = [
      ...singleIds.map((id, i) => ({ ids: [id], err: rejectionOf(sink.push('down', { i }, { id })) })),
      { ids: manyIds, err: rejectionOf(sink.pushMany(manyIds.map((id) => ({ name: 'down', data: id, options: { id } })))) },
    ];
    for (const c of calls) {
      const err = await c.err;
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      expect(err.jobIds).toEqual(c.ids);
      // A statement sent on a pooled connection the cut had closed may have been cut mid-way: it
      // says so; one that found no connection says nothing was written.
      expect(err.message).toMatch(/nothing was written|the insert may have committed before the connection broke/);
    }
    proxy.accept();
    const { rows } = await pool.query(`SELECT id FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = ANY($1)`, [[...singleIds, ...manyIds]]);
    expect(rows).toEqual([]);
    await waitFor('a push to succeed again', () => sink.push('after', {}).then(() => true, () => false), 20_000);
  });
});

@Processor('default')
@Injectable()
class CountingWorker {
  readonly runs = new Map<number, number>();
  @Process('job')
  handle(job: Job<{ i: number }>): void {
    this.runs.set(job.data.i, (this.runs.get(job.data.i) ?? 0) + 1);
  }
}

describe('grouped pushes into a running worker of the same process', () => {
  const schema = uniqueSchema('grouprun');
  const pool = testPool();
  let app: INestApplication;

  beforeAll(async () => {
    app = await createQueueApp({ schema, queues: [{ name: 'default', concurrency: 8 }] }, [CountingWorker]);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('bursts of concurrent pushes while the worker drains: every job runs exactly once', async () => {
    const sink = sinkOf(app);
    const worker = app.get(CountingWorker);
    let i = 0;
    for (let burst = 0; burst < 10; burst++) {
      await Promise.all(Array.from({ length: 100 }, () => sink.push('job', { i: i++ })));
    }
    await waitFor('every job run', () => worker.runs.size === 1000, 30_000);
    await waitFor('every job done', async () => (await pool.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema)}.jobs WHERE status = 'done'`)).rows[0].n === 1000, 30_000);
    expect([...worker.runs.values()].every((n) => n === 1)).toBe(true);
  });
});
