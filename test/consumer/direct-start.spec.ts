import { Injectable, type INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DuplicateJobIdError, IdempotencyConflictError, NotifyBus, Process, Processor, QueueOrchestrator, type Job } from '../../src/index.js';
import { jobsChannel } from '../../src/db/identifier.js';
import { insertStartedJobSql } from '../../src/db/sql/insert-started-job.js';
import { createQueueApp, type TestQueueOptions } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { flushNotifications, listenJobs, rejectionOf, sinkOf } from '../producer/support.js';

/** Every job the handlers started, in start order; a job's gate (if any) holds its handler. */
const started: Array<Job<{ n: number; ms?: number }>> = [];
const gates = new Map<number, { promise: Promise<void>; resolve: () => void }>();
const live = { running: 0, peak: 0 };

async function body(job: Job<{ n: number; ms?: number }>) {
  started.push(job);
  live.running++;
  live.peak = Math.max(live.peak, live.running);
  try {
    await gates.get(job.data.n)?.promise;
    if (job.data.ms) await new Promise((r) => setTimeout(r, job.data.ms));
    return { n: job.data.n };
  } finally {
    live.running--;
  }
}

@Processor('direct')
@Injectable()
class DirectProcessor {
  @Process('job')
  job(job: Job<{ n: number; ms?: number }>) {
    return body(job);
  }

  @Process('capped', { concurrency: 1 })
  capped(job: Job<{ n: number; ms?: number }>) {
    return body(job);
  }
}

const startedIds = () => started.map((j) => j.id);

/**
 * Polls and heartbeats far apart: each one briefly makes the fetcher busy (a claim or a
 * reconciliation in flight), when a push takes the usual path; these tests say which path a
 * push takes, so nothing else may run meanwhile.
 */
const quiet: Partial<TestQueueOptions> = { pollIntervalMs: 60_000, heartbeatIntervalMs: 30_000, orphanTimeoutMs: 120_000 };

describe('consumer: direct start of a job pushed by the worker\'s own process', () => {
  const scope = schemaScope('dir');
  const apps: INestApplication[] = [];
  const boot = async (options: TestQueueOptions) => {
    // prefetch 0: these tests pin the paths of a push (direct, or pending + NOTIFY + claim); with 'auto' a busy worker may also hold it.
    const app = await createQueueApp({ queues: [{ name: 'direct', concurrency: 2, prefetch: 0 }], ...quiet, ...options }, [DirectProcessor]);
    apps.push(app);
    return app;
  };
  const row = async (schema: string, id: string) =>
    (
      await scope.pool.query(`SELECT status, attempts, locked_by, result FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = $1`, [id])
    ).rows[0];
  const statusOf = async (schema: string, id: string) => (await row(schema, id))?.status;
  /** Resolves once every NOTIFY committed so far on the jobs channel has been dispatched by the app's bus. */
  const flushBus = async (app: INestApplication, schema: string) => {
    const marker = `__marker_${Math.random().toString(36).slice(2)}`;
    let seen = false;
    const off = app.get(NotifyBus).subscribe(jobsChannel(schema), (payload) => {
      if (payload.includes(marker)) seen = true;
    });
    try {
      await scope.pool.query(`SELECT pg_notify($1, json_build_object('queue', $2::text, 'ids', '[]'::json)::text)`, [jobsChannel(schema), marker]);
      await waitFor('the marker NOTIFY to reach the app', () => seen, 5_000, 5);
    } finally {
      off();
    }
  };
  /** Finished jobs whose ack has not landed keep their slot (Worker.hasIdleSlot): none may be left. */
  const acksInFlight = (app: INestApplication) => (app.get(QueueOrchestrator) as unknown as { acker: { size: number } }).acker.size;
  /**
   * Establishes that the worker is idle, which every test here needs before it says which path a
   * push takes (and that it listens: the poll is a minute away): a warm-up job must itself start directly. One that took the usual path (a claim
   * or the boot's reconciliation was in flight) is run, its NOTIFY is flushed through the app's
   * bus (so no stale wake can come later), and another is tried. After a direct one, nothing
   * else is pending: it sent no NOTIFY, and its completion wakes nothing.
   */
  const warmUp = async (app: INestApplication, schema: string, direct = true) => {
    // The bus connects after app.init(): until it listens, a NOTIFY is lost (and its connect
    // wakes the fetcher for a catch-up claim).
    await waitFor('the LISTEN connection up', () => app.get(NotifyBus).connected);
    if (!direct) {
      // With direct start off no job can start directly: one claimed job, done and acked, with
      // its NOTIFY flushed, leaves the worker idle with nothing pending.
      const id = await sinkOf(app, 'direct').push('job', { n: -1 });
      await waitFor('the warm-up job done', async () => (await statusOf(schema, id)) === 'done');
      await waitFor('its ack to land', () => acksInFlight(app) === 0);
      await flushBus(app, schema);
      return;
    }
    await waitFor('a warm-up job to start directly (the worker idle)', async () => {
      const id = await sinkOf(app, 'direct').push('job', { n: -1 });
      const direct = startedIds().includes(id);
      await waitFor('the warm-up job done', async () => (await statusOf(schema, id)) === 'done');
      await waitFor('its ack to land', () => acksInFlight(app) === 0);
      if (!direct) await flushBus(app, schema);
      return direct;
    }, 15_000, 0);
  };
  const isWarmUp = (j: Job<{ n: number }>) => j.data.n === -1;

  beforeEach(() => {
    started.length = 0;
    gates.clear();
    live.running = live.peak = 0;
  });
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await scope.dispose();
  });

  it('an idle worker has started the job when push() resolves: one INSERT, no NOTIFY, attempt 1 under its worker id, and it ends done', async () => {
    const schema = scope.fresh();
    const app = await boot({ schema });
    await warmUp(app, schema);
    const listener = await listenJobs(schema);
    try {
      const id = await sinkOf(app, 'direct').push('job', { n: 1 }, { priority: 7, metadata: { tenant: 'a' }, idempotencyKey: 'k-1', maxAttempts: 4 });
      // Started synchronously when the INSERT returned, before push() resolved.
      expect(startedIds()).toContain(id);
      const job = started.find((j) => j.id === id)!;
      expect(job).toMatchObject({ queue: 'direct', name: 'job', data: { n: 1 }, attempt: 1, maxAttempts: 4, priority: 7, metadata: { tenant: 'a' }, idempotencyKey: 'k-1' });
      expect(job.createdAt).toBeInstanceOf(Date);
      expect(job.runAt).toBeInstanceOf(Date);
      await waitFor('the job done', async () => (await statusOf(schema, id)) === 'done');
      expect(await row(schema, id)).toMatchObject({ attempts: 1, locked_by: app.get(QueueOrchestrator).workerId, result: { n: 1 } });
      await flushNotifications(scope.pool, schema, listener);
      expect(listener.payloads.filter((p) => p.ids.includes(id))).toEqual([]);
    } finally {
      await listener.close();
    }
  });

  it('a busy worker leaves the push to the usual path: inserted pending, notified, claimed when a slot frees', async () => {
    const schema = scope.fresh();
    const app = await boot({ schema, queues: [{ name: 'direct', concurrency: 1, prefetch: 0 }] });
    await warmUp(app, schema);
    const listener = await listenJobs(schema);
    try {
      gates.set(1, deferred<void>());
      const a = await sinkOf(app, 'direct').push('job', { n: 1 });
      expect(startedIds()).toContain(a); // direct: the slot is now taken
      const b = await sinkOf(app, 'direct').push('job', { n: 2 });
      expect(startedIds()).not.toContain(b);
      expect(await row(schema, b)).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
      await flushNotifications(scope.pool, schema, listener);
      expect(listener.payloads.filter((p) => p.ids.includes(b))).toHaveLength(1);
      gates.get(1)!.resolve();
      await waitFor('both done', async () => (await statusOf(schema, a)) === 'done' && (await statusOf(schema, b)) === 'done');
      expect((await row(schema, b)).attempts).toBe(1);
      expect(live.peak).toBe(1);
    } finally {
      await listener.close();
    }
  });

  it('is not taken for a delayed job, a push inside a transaction, or a name whose own concurrency is full', async () => {
    const schema = scope.fresh();
    const app = await boot({ schema, queues: [{ name: 'direct', concurrency: 4, prefetch: 0 }] });
    await warmUp(app, schema);
    const sink = sinkOf(app, 'direct');

    const delayed = await sink.push('job', { n: 1 }, { delayMs: 30 });
    expect(startedIds()).not.toContain(delayed);
    expect(await statusOf(schema, delayed)).toBe('pending');
    await waitFor('the delayed job done', async () => (await statusOf(schema, delayed)) === 'done');

    const client = await scope.pool.connect();
    let inTx: string;
    try {
      await client.query('BEGIN');
      inTx = await sink.push('job', { n: 2 }, { client });
      expect(startedIds()).not.toContain(inTx);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await waitFor('the transactional job done', async () => (await statusOf(schema, inTx)) === 'done');
    // Both took the usual path (a claim, a NOTIFY): idle again before the next direct start.
    await warmUp(app, schema);

    gates.set(3, deferred<void>());
    const capped = await sink.push('capped', { n: 3 });
    expect(startedIds()).toContain(capped); // direct: its handler had room
    const other = await sink.push('job', { n: 5 });
    expect(startedIds()).toContain(other); // another name still starts directly
    const cappedToo = await sink.push('capped', { n: 4 });
    expect(startedIds()).not.toContain(cappedToo); // its handler's one slot is busy
    expect(await statusOf(schema, cappedToo)).toBe('pending');
    gates.get(3)!.resolve();
    await waitFor('the capped jobs done', async () => (await statusOf(schema, cappedToo)) === 'done');
  });

  it('a job left out of a claim because its handler was at its own concurrency is claimed when that handler frees a slot, not at the next poll', async () => {
    const schema = scope.fresh();
    const app = await boot({ schema, queues: [{ name: 'direct', concurrency: 4, directStart: false }] });
    await warmUp(app, schema, false);
    const sink = sinkOf(app, 'direct');
    gates.set(1, deferred<void>());
    const a = await sink.push('capped', { n: 1 });
    await waitFor('the first capped job started', () => startedIds().includes(a));
    const b = await sink.push('capped', { n: 2 }); // waits: its handler's one slot is busy
    const c = await sink.push('job', { n: 3 });
    // The claim that took c left "capped" out and came back short.
    await waitFor('the other job done', async () => (await statusOf(schema, c)) === 'done');
    expect(startedIds()).not.toContain(b);
    gates.get(1)!.resolve();
    // The poll is a minute away: only the freed slot can start b in time.
    await waitFor('the second capped job done', async () => (await statusOf(schema, b)) === 'done', 10_000);
  });

  it('with directStart: false an idle worker still gets the job, through NOTIFY and a claim', async () => {
    const schema = scope.fresh();
    const app = await boot({ schema, queues: [{ name: 'direct', directStart: false }] });
    await warmUp(app, schema, false);
    const listener = await listenJobs(schema);
    try {
      const id = await sinkOf(app, 'direct').push('job', { n: 1 });
      await flushNotifications(scope.pool, schema, listener);
      expect(listener.payloads.filter((p) => p.ids.includes(id))).toHaveLength(1);
      await waitFor('the job done', async () => (await statusOf(schema, id)) === 'done');
      expect((await row(schema, id)).attempts).toBe(1);
    } finally {
      await listener.close();
    }
  });

  it('a duplicate idempotency key or id rejects with its typed error, writes nothing, and the next push starts directly again', async () => {
    const schema = scope.fresh();
    const app = await boot({ schema });
    await warmUp(app, schema);
    const sink = sinkOf(app, 'direct');
    const first = await sink.push('job', { n: 1 }, { idempotencyKey: 'once' });
    expect(startedIds()).toContain(first);

    const conflict = await rejectionOf(sink.push('job', { n: 2 }, { idempotencyKey: 'once' }));
    expect(conflict).toBeInstanceOf(IdempotencyConflictError);
    expect(conflict).toMatchObject({ queue: 'direct', idempotencyKey: 'once' });
    const dup = await rejectionOf(sink.push('job', { n: 3 }, { id: first }));
    expect(dup).toBeInstanceOf(DuplicateJobIdError);
    expect(started.filter((j) => !isWarmUp(j)).map((j) => j.data.n)).toEqual([1]);
    const count = await scope.pool.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema)}.jobs WHERE payload->>'n' <> '-1'`);
    expect(count.rows[0].n).toBe(1); // the first (and the warm-ups)

    await waitFor('the first done', async () => (await statusOf(schema, first)) === 'done');
    const next = await sink.push('job', { n: 4 });
    expect(startedIds()).toContain(next);
  });

  it('the insert is fenced on the worker\'s heartbeat, as a claim is: without a fresh one nothing is inserted, and push() inserts the job pending and notifies it as usual', async () => {
    const schema = scope.fresh();
    const app = await boot({ schema });
    await warmUp(app, schema);
    const s = pg.escapeIdentifier(schema);
    const workerId = app.get(QueueOrchestrator).workerId;
    const insert = (id: string, worker: string) =>
      scope.pool.query(insertStartedJobSql(s), [id, 'direct', 'job', '{"n": 9}', null, 0, '{}', null, worker, 120_000]);
    expect((await insert('01JZZZZZZZZZZZZZZZZZZZZZZ1', 'no-such-worker')).rowCount).toBe(0);
    expect(await row(schema, '01JZZZZZZZZZZZZZZZZZZZZZZ1')).toBeUndefined();

    await scope.pool.query(`UPDATE ${s}.workers SET last_seen = now() - interval '1 hour' WHERE worker_id = $1`, [workerId]);
    expect((await insert('01JZZZZZZZZZZZZZZZZZZZZZZ2', workerId)).rowCount).toBe(0);
    const listener = await listenJobs(schema);
    try {
      const id = await sinkOf(app, 'direct').push('job', { n: 1 });
      expect(startedIds()).not.toContain(id);
      expect(await row(schema, id)).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
      await flushNotifications(scope.pool, schema, listener);
      expect(listener.payloads.filter((p) => p.ids.includes(id))).toHaveLength(1);
    } finally {
      await listener.close();
      await scope.pool.query(`UPDATE ${s}.workers SET last_seen = now() WHERE worker_id = $1`, [workerId]);
    }
  });

  it('shutdown while a direct insert is in flight hands the job back to pending (attempt not counted) once it lands', async () => {
    const schema = scope.fresh();
    // Frequent heartbeats: each asks for a self-reconciliation, which must wait for the insert in flight.
    const app = await boot({ schema, heartbeatIntervalMs: 50, orphanTimeoutMs: 120_000 });
    await warmUp(app, schema);
    const s = pg.escapeIdentifier(schema);
    // An uncommitted row with the same idempotency key holds the direct INSERT on the unique index.
    const blocker = await scope.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`INSERT INTO ${s}.jobs (id, queue, name, payload, status, idempotency_key) VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZB', 'direct', 'job', '{}', 'done', 'held')`);
      const pushing = sinkOf(app, 'direct').push('job', { n: 1 }, { idempotencyKey: 'held' });
      await waitFor('the direct insert to wait on the lock', async () => {
        const r = await scope.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND (query LIKE 'INSERT INTO ${s}.jobs%' OR query LIKE 'WITH taken AS%')`);
        return r.rows[0].n === 1;
      });
      const closing = app.close();
      await blocker.query('ROLLBACK');
      const id = await pushing;
      await closing;
      expect(startedIds()).not.toContain(id);
      expect(await row(schema, id)).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
    } finally {
      blocker.release();
    }
  });

  it('a stream of pushes, some started directly and some claimed, never runs more than `concurrency` at once and runs each job once', async () => {
    const schema = scope.fresh();
    // Frequent heartbeats (self-reconciliations) on purpose: they must never take a directly started job back.
    const app = await boot({ schema, queues: [{ name: 'direct', concurrency: 3, prefetch: 0 }], pollIntervalMs: 50, heartbeatIntervalMs: 40, orphanTimeoutMs: 120_000 });
    await warmUp(app, schema);
    const sink = sinkOf(app, 'direct');
    const s = pg.escapeIdentifier(schema);
    let sampling = true;
    let peakRows = 0;
    const sampler = (async () => {
      while (sampling) {
        const r = await scope.pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE queue = 'direct' AND status = 'running'`);
        peakRows = Math.max(peakRows, r.rows[0].n);
      }
    })();
    const ids: string[] = [];
    let direct = 0;
    // At least 120 bursts, and on until both paths were taken (established, not assumed: a push
    // starts directly only when it finds the fetcher idle, which the heartbeats make a matter of timing).
    for (let i = 0; i < 120 || direct === 0 || direct === ids.length; i++) {
      if (i >= 5000) throw new Error(`${direct} of ${ids.length} pushes started directly: one path never taken in ${i} bursts`);
      // Bursts of up to 4 pushes at once, jobs of 0-4 ms.
      const burst = Array.from({ length: 1 + (i % 4) }, (_, k) => sink.push('job', { n: i * 10 + k, ms: (i + k) % 5 }));
      for (const id of await Promise.all(burst)) {
        ids.push(id);
        if (startedIds().includes(id)) direct++;
      }
    }
    await waitFor('every job done', async () => {
      const r = await scope.pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE id = ANY($1) AND status = 'done'`, [ids]);
      return r.rows[0].n === ids.length;
    }, 30_000);
    sampling = false;
    await sampler;
    const runs = new Map<string, number>();
    for (const j of started) runs.set(j.id, (runs.get(j.id) ?? 0) + 1);
    expect(ids.filter((id) => runs.get(id) !== 1)).toEqual([]);
    const attempts = await scope.pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE id = ANY($1) AND attempts <> 1`, [ids]);
    expect(attempts.rows[0].n).toBe(0);
    expect(live.peak).toBeLessThanOrEqual(3);
    expect(peakRows).toBeLessThanOrEqual(3);
    // Both paths were exercised.
    expect(direct).toBeGreaterThan(0);
    expect(direct).toBeLessThan(ids.length);
  });
});
