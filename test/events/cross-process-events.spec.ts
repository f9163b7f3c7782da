import { Injectable, type INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobWaitTimeoutError, NotifyBus, Process, Processor, QueueEvents, type Job, type JobEvent } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { rejectionOf, sinkOf } from '../producer/support.js';

@Processor('shared')
@Injectable()
class SharedWorker {
  @Process('work')
  work(job: Job<{ n: number }>) {
    return { doubled: job.data.n * 2 };
  }

  @Process('fail', { maxAttempts: 1 })
  fail() {
    throw new Error('no');
  }
}

@Processor('local')
@Injectable()
class LocalWorker {
  @Process('work')
  work() {
    return 'local';
  }
}

/**
 * Two apps on one schema stand for two processes: each has its own LISTEN connection, and its
 * own QueueEvents. The worker app runs the jobs; the API app (no workers) only watches.
 */
describe('job events across processes (queues with events: true)', () => {
  const scope = schemaScope('xev');
  let worker: INestApplication;
  let api: INestApplication;
  const remote: JobEvent[] = [];
  beforeAll(async () => {
    const schema = scope.fresh();
    const queues = [{ name: 'shared', events: true }, 'local'];
    worker = await createQueueApp({ schema, queues, pollIntervalMs: 100 }, [SharedWorker, LocalWorker]);
    api = await createQueueApp({ schema, queues, workers: false });
    for (const e of ['completed', 'failed', 'killed', 'cancelled'] as const) api.get(QueueEvents).on(e, (ev) => void remote.push(ev));
    await waitFor('the API app listening', () => api.get(NotifyBus).connected);
  });
  afterAll(async () => {
    await api.close();
    await worker.close();
    await scope.dispose();
  });

  it('the API process sees the events of jobs another process ran: ids and the event, details from the row', async () => {
    const ok = await sinkOf(api, 'shared').push('work', { n: 21 });
    const bad = await sinkOf(api, 'shared').push('fail', {});
    await waitFor('both events', () => remote.some((e) => e.job.id === ok) && remote.filter((e) => e.job.id === bad).length === 2);
    expect(remote.find((e) => e.job.id === ok)).toEqual({ event: 'completed', remote: true, job: { id: ok, queue: 'shared', name: 'work', attempt: 1 } });
    expect(remote.filter((e) => e.job.id === bad).map((e) => e.event)).toEqual(['failed', 'killed']);
    // waitFor returns the finished job with everything on the row.
    const job = await api.get(QueueEvents).waitFor<{ n: number }>(ok, { timeoutMs: 10_000 });
    expect(job).toMatchObject({ id: ok, status: 'done', result: { doubled: 42 } });
  });

  it('a queue without events: true keeps its events in the process that ran the job', async () => {
    const local = await sinkOf(api, 'local').push('work', {});
    await waitFor('the local job done', async () => (await api.get(QueueEvents).waitFor(local, { timeoutMs: 10_000 })).status === 'done');
    // A shared job after it: its event arrives, so the local one would have arrived before it if sent.
    const after = await sinkOf(api, 'shared').push('work', { n: 1 });
    await waitFor('the shared event', () => remote.some((e) => e.job.id === after));
    expect(remote.some((e) => e.job.id === local)).toBe(false);
  });

  it('events sent while a listener is disconnected are lost; waitFor still returns the job, read from the row', async () => {
    const schema = (api.get(QueueEvents) as unknown as { options: { schema: string } }).options.schema;
    // An app whose LISTEN connection can be told apart, polling slowly (the row is read at the reconnect).
    const watcher = await createQueueApp({
      schema,
      queues: [{ name: 'shared', events: true }, 'local'],
      workers: false,
      pollIntervalMs: 60_000,
      listenConnection: { connectionString: databaseUrl(), application_name: 'xev-watcher-listen' },
    });
    try {
      const bus = watcher.get(NotifyBus);
      await waitFor('the watcher listening', () => bus.connected);
      const generation = bus.generation;
      const id = await sinkOf(watcher, 'shared').push('work', { n: 5 }, { delayMs: 200 });
      const waited = watcher.get(QueueEvents).waitFor(id, { timeoutMs: 20_000 });
      await scope.pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'xev-watcher-listen'`);
      await waitFor('the watcher disconnected', () => !bus.connected);
      const job = await waited;
      expect(job).toMatchObject({ id, status: 'done', result: { doubled: 10 } });
      expect(bus.generation).toBeGreaterThan(generation);
    } finally {
      await watcher.close();
    }
  });

  it('waitFor gives up with JobWaitTimeoutError', async () => {
    const id = await sinkOf(api, 'shared').push('work', { n: 0 }, { delayMs: 60_000 });
    const err = await rejectionOf(api.get(QueueEvents).waitFor(id, { timeoutMs: 200 }));
    expect(err).toBeInstanceOf(JobWaitTimeoutError);
    expect(err.message).toBe(`Job ${id} was not finished within 200 ms`);
  });
});
