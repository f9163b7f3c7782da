import { Injectable, type INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotifyBus, Process, Processor, QueueAdmin, QueueOrchestrator, type Job } from '../../src/index.js';
import { LISTENER_IDENTITY_SQL } from '../../src/db/sql/ready-workers.js';
import { QUEUE_POOL } from '../../src/queue.tokens.js';
import { createQueueApp, type TestQueueOptions } from '../helpers/app.js';
import { databaseUrl, observeQueries, schemaScope } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';

/** Every start of a handler, in order; a job's gate (if any) holds it. */
const started: Array<Job<{ n: number }>> = [];
const gates = new Map<number, ReturnType<typeof deferred<void>>>();

@Processor('handoff')
@Injectable()
class HandOffProcessor {
  @Process('job')
  async job(job: Job<{ n: number }>) {
    started.push(job);
    await gates.get(job.data.n)?.promise;
    return { n: job.data.n };
  }
}

/** Polls and heartbeats far apart: nothing but the pushes of a test makes a worker claim. */
const quiet: Partial<TestQueueOptions> = { pollIntervalMs: 60_000, heartbeatIntervalMs: 30_000, orphanTimeoutMs: 120_000 };

describe('consumer: a push from another process handed to a ready worker', () => {
  const scope = schemaScope('hand');
  let apps: INestApplication[] = [];
  const worker = async (schema: string, options: Partial<TestQueueOptions> = {}) => {
    const app = await createQueueApp({ schema, queues: [{ name: 'handoff', concurrency: 4, prefetch: 0 }], ...quiet, ...options }, [HandOffProcessor]);
    apps.push(app);
    return app;
  };
  const producer = async (schema: string) => {
    const app = await createQueueApp({ schema, queues: ['handoff'], workers: false, ...quiet });
    apps.push(app);
    return app;
  };
  const s = (schema: string) => pg.escapeIdentifier(schema);
  const row = async (schema: string, id: string) =>
    (await scope.pool.query(`SELECT status, attempts, locked_by FROM ${s(schema)}.jobs WHERE id = $1`, [id])).rows[0];
  const readyRows = async (schema: string) =>
    (await scope.pool.query(`SELECT worker_id, listener_pid FROM ${s(schema)}.ready_workers WHERE queue = 'handoff' ORDER BY worker_id`)).rows;
  const workerIdOf = (app: INestApplication) => app.get(QueueOrchestrator).workerId;
  const isReady = async (schema: string, app: INestApplication) => (await readyRows(schema)).some((r) => r.worker_id === workerIdOf(app));

  beforeEach(() => {
    started.length = 0;
    gates.clear();
  });
  afterEach(async () => {
    for (const g of gates.values()) g.resolve();
    for (const app of apps) await app.close().catch(() => undefined);
    apps = [];
  });
  afterAll(() => scope.dispose());

  it('an idle worker advertises itself; a push from a producer-only process is inserted running under it and starts from the NOTIFY, with no claim', async () => {
    const schema = scope.fresh();
    const w = await worker(schema);
    const p = await producer(schema);
    await waitFor('the worker advertised as ready', () => isReady(schema, w));
    const claims: string[] = [];
    observeQueries(w.get(QUEUE_POOL), (text) => {
      if (text.includes("SET status = 'running'")) claims.push(text);
    });
    const id = await sinkOf(p, 'handoff').push('job', { n: 1 });
    await waitFor('the handed job done', async () => (await row(schema, id))?.status === 'done');
    expect(started.map((j) => [j.id, j.attempt])).toEqual([[id, 1]]);
    expect(await row(schema, id)).toMatchObject({ status: 'done', attempts: 1 });
    expect(claims).toEqual([]);
    // One-shot: the push took the row; the worker, idle again, advertises anew.
    await waitFor('the worker advertised again', () => isReady(schema, w));
    const second = await sinkOf(p, 'handoff').push('job', { n: 2 });
    await waitFor('the second handed job done', async () => (await row(schema, second))?.status === 'done');
    expect(claims).toEqual([]);
  });

  it('takes a ready row only for a live LISTEN backend, a handled name, a live heartbeat and a queue not paused; else the job is pending and the row stays', async () => {
    const schema = scope.fresh();
    const p = await producer(schema);
    const sink = sinkOf(p, 'handoff');
    // A stand-in worker: its lease row, and a ready row naming a backend we control.
    const listener = new pg.Client({ connectionString: databaseUrl() });
    await listener.connect();
    const backend = (await listener.query(LISTENER_IDENTITY_SQL)).rows[0];
    await scope.pool.query(`INSERT INTO ${s(schema)}.workers (worker_id, queue, lease_hash, names) VALUES ('stand-in', 'handoff', 'h', '{job}')`);
    const advertise = () =>
      scope.pool.query(
        `INSERT INTO ${s(schema)}.ready_workers (queue, worker_id, listener_pid, listener_start) VALUES ('handoff', 'stand-in', $1, $2)
         ON CONFLICT (queue, worker_id) DO UPDATE SET listener_pid = EXCLUDED.listener_pid, listener_start = EXCLUDED.listener_start`,
        [backend.pid, backend.started],
      );
    const expectPending = async (id: string) => {
      expect(await row(schema, id)).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
      expect(await readyRows(schema)).toHaveLength(1);
    };
    /**
     * A push is handed to the stand-in (the positive control: retried with a deadline, since a push
     * within 20 ms of one that found no worker ready is a plain INSERT), and the row re-advertised.
     * Each fence below is then tested on the very next push, with no miss just before it.
     */
    const handedOnce = async () => {
      await waitFor('a push handed to the stand-in', async () => {
        const id = await sink.push('job', { n: 0 });
        return (await row(schema, id)).status === 'running';
      }, 5_000, 1);
      expect(await readyRows(schema)).toEqual([]);
      await advertise();
    };
    try {
      await advertise();
      await handedOnce();
      // A name the worker has no handler for.
      await expectPending(await sink.push('other', { n: 1 }));
      await handedOnce();
      // Inside the caller's transaction (it could hold the row for as long as it lasts).
      const client = await scope.pool.connect();
      let inTx: string;
      try {
        await client.query('BEGIN');
        inTx = await sink.push('job', { n: 2 }, { client });
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      await expectPending(inTx);
      await handedOnce();
      // Larger than a NOTIFY can carry.
      await expectPending(await sink.push('job', { blob: 'x'.repeat(3000) }));
      await handedOnce();
      // Paused.
      await p.get(QueueAdmin).pause('handoff');
      await expectPending(await sink.push('job', { n: 3 }));
      await p.get(QueueAdmin).resume('handoff');
      await handedOnce();
      // A heartbeat older than the lease (orphanTimeoutMs).
      await scope.pool.query(`UPDATE ${s(schema)}.workers SET last_seen = now() - interval '1 hour' WHERE worker_id = 'stand-in'`);
      await expectPending(await sink.push('job', { n: 4 }));
      await scope.pool.query(`UPDATE ${s(schema)}.workers SET last_seen = now() WHERE worker_id = 'stand-in'`);
      await handedOnce();
      // A live pid, but of another backend start (the pid reused).
      await scope.pool.query(`UPDATE ${s(schema)}.ready_workers SET listener_start = listener_start - 1`);
      await expectPending(await sink.push('job', { n: 5 }));
      await advertise();
      await handedOnce();
      // The listener is closed: its row names a dead backend.
      await listener.end();
      await waitFor('the backend gone', async () => {
        const r = await scope.pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [backend.pid]);
        return r.rows[0].n === 0;
      });
      await expectPending(await sink.push('job', { n: 7 }));
    } finally {
      await listener.end().catch(() => undefined);
    }
  });

  it('a worker that fills up withdraws its readiness, so pushes go pending instead of to it', async () => {
    const schema = scope.fresh();
    const w = await worker(schema, { queues: [{ name: 'handoff', concurrency: 1, prefetch: 0 }] });
    const p = await producer(schema);
    await waitFor('the worker advertised as ready', () => isReady(schema, w));
    gates.set(1, deferred<void>());
    // A batch is never handed: it is claimed, and fills the worker.
    const [gated] = await sinkOf(p, 'handoff').pushMany([{ name: 'job', data: { n: 1 } }]);
    await waitFor('the gated job running', () => started.some((j) => j.id === gated));
    await waitFor('the readiness withdrawn', async () => !(await isReady(schema, w)));
    const next = await sinkOf(p, 'handoff').push('job', { n: 2 });
    expect(await row(schema, next)).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
    gates.get(1)!.resolve();
    await waitFor('both done', async () => (await row(schema, gated))?.status === 'done' && (await row(schema, next))?.status === 'done');
  });

  it('a LISTEN reconnect advertises the new backend, and a job handed while it was down (its NOTIFY lost) is returned and run', async () => {
    const schema = scope.fresh();
    const w = await worker(schema);
    const p = await producer(schema);
    await waitFor('the worker advertised as ready', () => isReady(schema, w));
    const [before] = await readyRows(schema);
    // A hand-off whose NOTIFY never arrived: running under the worker, unknown to it.
    const lost = '01JZZZZZZZZZZZZZZZZZZZZLST';
    await scope.pool.query(
      `INSERT INTO ${s(schema)}.jobs (id, queue, name, payload, status, attempts, locked_at, locked_by) VALUES ($1, 'handoff', 'job', '{"n": 9}', 'running', 1, now(), $2)`,
      [lost, workerIdOf(w)],
    );
    await scope.pool.query('SELECT pg_terminate_backend($1)', [before.listener_pid]);
    await waitFor('the LISTEN connection back', async () => w.get(NotifyBus).connected && (await readyRows(schema)).some((r) => r.listener_pid !== before.listener_pid));
    await waitFor('the lost hand-off run', async () => (await row(schema, lost))?.status === 'done');
    expect(started.filter((j) => j.id === lost).map((j) => j.attempt)).toEqual([1]);
    const id = await sinkOf(p, 'handoff').push('job', { n: 10 });
    await waitFor('a push handed on the new backend done', async () => (await row(schema, id))?.status === 'done');
  });

  it('pushes racing a worker shutdown: no job is left running under the stopped worker, and every job runs once', async () => {
    const schema = scope.fresh();
    const w = await worker(schema, { queues: [{ name: 'handoff', concurrency: 4, prefetch: 0 }], pollIntervalMs: 50 });
    const p = await producer(schema);
    await waitFor('the worker advertised as ready', () => isReady(schema, w));
    const sink = sinkOf(p, 'handoff');
    const ids: string[] = [];
    let stop = false;
    const pushing = (async () => {
      for (let n = 0; !stop || n < 200; n++) ids.push(await sink.push('job', { n }));
    })();
    await waitFor('50 jobs run', () => started.length >= 50);
    const stopped = workerIdOf(w);
    await w.close();
    apps = apps.filter((a) => a !== w);
    stop = true;
    await pushing;
    const running = await scope.pool.query(`SELECT id FROM ${s(schema)}.jobs WHERE status = 'running' AND locked_by = $1`, [stopped]);
    expect(running.rows).toEqual([]);
    expect(await readyRows(schema)).toEqual([]);
    await worker(schema, { pollIntervalMs: 50 });
    await waitFor('every job done', async () => {
      const r = await scope.pool.query(`SELECT count(*)::int AS n FROM ${s(schema)}.jobs WHERE status = 'done'`);
      return r.rows[0].n === ids.length;
    });
    const starts = new Map<string, number>();
    for (const j of started) starts.set(j.id, (starts.get(j.id) ?? 0) + 1);
    expect(ids.filter((id) => starts.get(id) !== 1)).toEqual([]);
  });
});
