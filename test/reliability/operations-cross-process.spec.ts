/**
 * Issue 16: cancel and pause reach other processes. Workers are real child processes (the
 * fixture); the operator is this process, with a producer-only app's QueueAdmin.
 * Pass: a cancelled running job's signal aborts with JobCancelledError in the process running it,
 * through the control channel's NOTIFY and, with no LISTEN connection at all, through the poll-time
 * check; its row stays cancelled. A pause stops every process claiming (prefetched jobs are handed
 * back), pushes are still accepted, and a resume runs everything once.
 */
import type { INestApplication } from '@nestjs/common';
import net from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QueueAdmin, type QueueSink, getSinkToken } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl } from '../helpers/db.js';
import { Scenario, timeoutFor, until } from './support/harness.js';

async function closedPortUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  const u = new URL(databaseUrl());
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

describe('reliability: cancel and pause across processes', () => {
  let pool: pg.Pool;
  let sc: Scenario | null = null;
  let operator: INestApplication | null = null;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: databaseUrl(), max: 3 });
  });
  afterEach(async () => {
    await operator?.close();
    operator = null;
    await sc?.teardown();
    sc = null;
  }, 60_000);
  afterAll(async () => {
    await pool.end();
  });

  const operatorFor = async (schema: string) => {
    operator = await createQueueApp({ schema, workers: false, queues: ['ops', 'witness'], migrate: false });
    return { admin: operator.get(QueueAdmin), ops: operator.get<QueueSink>(getSinkToken('ops')), witness: operator.get<QueueSink>(getSinkToken('witness')) };
  };
  const ran = (id: string) => sc!.count('SELECT count(*) FROM $S.ledger WHERE job_id = $1', [id]);

  it.each([
    ['through the NOTIFY', false],
    ['with no LISTEN connection, through the poll-time check', true],
  ])('9a. cancel of a job running in another process reaches it %s', async (_how, noListen) => {
    sc = new Scenario(databaseUrl(), pool, 'cxl');
    await sc.setup();
    const worker = sc.spawn({
      role: 'worker',
      queues: [{ name: 'ops', concurrency: 2 }, { name: 'witness' }],
      pollIntervalMs: 200,
      ...(noListen ? { listenUrl: await closedPortUrl() } : {}),
    });
    await worker.ready();
    if (!noListen) await worker.waitEvent('LISTEN', (e) => e.type === 'reconnect');
    const { admin, ops } = await operatorFor(sc.schema);
    const id = await ops.push('waitSignal', {});
    await until('the job running in the worker', async () => (await ran(id)) === 1, timeoutFor(30_000));
    expect(await admin.cancel(id)).toEqual({ id, outcome: 'cancelled', status: 'cancelled' });
    const aborted = await worker.waitEvent<{ type: 'aborted'; jobId: string; reason: string; message: string }>(
      'the abort',
      (e) => e.type === 'aborted' && (e as { jobId?: string }).jobId === id,
      timeoutFor(30_000),
    );
    expect(aborted).toMatchObject({ reason: 'JobCancelledError', message: `Job ${id} was cancelled` });
    // The handler returned; its slot is free (a job after it runs), and its late outcome changed nothing.
    const after = await ops.push('probe', {});
    await until('the next job done', async () => (await admin.getJob(after))?.status === 'done', timeoutFor(30_000));
    expect(await admin.getJob(id)).toMatchObject({ status: 'cancelled', attempts: 1, result: null });
    expect(await ran(id)).toBe(1);
    if (noListen) expect(worker.events.some((e) => e.type === 'reconnect')).toBe(false);
    expect(sc.fatals()).toEqual([]);
  }, timeoutFor(120_000));

  it('9b. pause stops claims in every process (prefetched jobs handed back), pushes are accepted, resume runs each job once', async () => {
    sc = new Scenario(databaseUrl(), pool, 'pau');
    await sc.setup();
    const spec = { role: 'worker' as const, queues: [{ name: 'ops', concurrency: 1, prefetch: 50 }, { name: 'witness' }], pollIntervalMs: 200 };
    const workers = [sc.spawn(spec), sc.spawn(spec)];
    await Promise.all(workers.map((w) => w.ready()));
    await Promise.all(workers.map((w) => w.waitEvent('LISTEN', (e) => e.type === 'reconnect')));
    const { admin, ops, witness } = await operatorFor(sc.schema);
    const first = await ops.pushMany(Array.from({ length: 150 }, () => ({ name: 'work', data: { sleepMs: 100 } })));
    const running = () => sc!.count(`SELECT count(*) FROM $S.jobs WHERE queue = 'ops' AND status = 'running'`);
    // Both processes hold prefetched jobs (running in the table, most not started).
    await until('prefetched jobs held', async () => (await running()) >= 40, timeoutFor(30_000));
    const ranAtPause = await sc.count(`SELECT count(DISTINCT job_id) FROM $S.ledger WHERE queue = 'ops'`);
    await admin.pause('ops', { reason: 'downstream down' });
    // The pause's NOTIFY makes each process hand its prefetched jobs back; only the ones in
    // their handlers (one slot each) stay running, and then finish.
    await until('prefetched jobs handed back, running ones finished', async () => (await running()) === 0, timeoutFor(30_000));
    const ranBefore = await sc.count(`SELECT count(DISTINCT job_id) FROM $S.ledger WHERE queue = 'ops'`);
    // Held jobs were handed back, not run: after the pause only the jobs in a handler (one slot
    // per process) and those started while its NOTIFY was on the way ran, not the ~100 held.
    expect(ranBefore - ranAtPause).toBeLessThanOrEqual(10);
    const later = await ops.pushMany(Array.from({ length: 20 }, () => ({ name: 'work', data: {} })));
    // Both processes still claim: witness jobs run, several poll intervals after the pause.
    const seen = await witness.pushMany(Array.from({ length: 40 }, () => ({ name: 'probe', data: {} })));
    await until('witness jobs done', async () => (await sc!.count(`SELECT count(*) FROM $S.jobs WHERE id = ANY($1) AND status = 'done'`, [seen])) === 40, timeoutFor(30_000));
    expect(await sc.count(`SELECT count(DISTINCT job_id) FROM $S.ledger WHERE queue = 'ops'`)).toBe(ranBefore);
    expect(await sc.count(`SELECT count(*) FROM $S.ledger WHERE job_id = ANY($1)`, [later])).toBe(0);
    expect((await admin.stats()).ops.paused).toBe(true);

    expect(await admin.resume('ops')).toBe(true);
    await sc.waitAllDone(first.length + later.length + seen.length, timeoutFor(60_000));
    const l = await sc.ledger();
    expect(l.twice.size).toBe(0);
    expect(await sc.lost()).toBe(0);
    expect(sc.fatals()).toEqual([]);
  }, timeoutFor(120_000));
});
