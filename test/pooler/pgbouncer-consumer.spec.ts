import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueAdmin, QueueOrchestrator, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { pgbouncerWanted } from '../helpers/pgbouncer.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { throughPooler, usePgBouncer } from './support.js';

const ledger: Array<{ id: string; attempt: number; worker: string }> = [];
let gate = deferred();
let started = deferred<Job>();

@Processor('default')
@Injectable()
class Work {
  constructor(private readonly orchestrator: QueueOrchestrator) {}

  @Process('job')
  run(job: Job) {
    ledger.push({ id: job.id, attempt: job.attempt, worker: this.orchestrator.workerId });
  }

  @Process('flaky', { backoff: { type: 'fixed', delayMs: 20 } })
  flaky(job: Job) {
    if (job.attempt < 3) throw new Error(`attempt ${job.attempt} fails`);
    return { attempt: job.attempt };
  }

  @Process('slow')
  async slow(job: Job) {
    started.resolve(job);
    await gate.promise;
    return 'finished';
  }

  @Process('stuck')
  async stuck(job: Job) {
    started.resolve(job);
    await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
  }
}

describe.runIf(pgbouncerWanted)('consumer through PgBouncer in transaction mode (preparedStatements: false)', () => {
  const pooler = usePgBouncer();
  const { pool, fresh, dispose } = schemaScope('pgbc');
  afterAll(dispose);

  it('two instances share 2,000 jobs through the pooler (claims, batched acks): each runs exactly once', async () => {
    const schema = fresh();
    ledger.length = 0;
    const opts = throughPooler(pooler.url, schema, { queues: [{ name: 'default', concurrency: 8 }] });
    const [a, b] = await Promise.all([createQueueApp(opts, [Work]), createQueueApp(opts, [Work])]);
    const sink = a.get<QueueSink>(getSinkToken('default'));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(...(await sink.pushMany(Array.from({ length: 500 }, (_, j) => ({ name: 'job', data: { i, j } })))));
    await waitFor('all 2,000 done', async () => (await a.get(QueueAdmin).stats()).default?.done === 2000, 60_000, 100);
    const counts = new Map<string, number>();
    for (const r of ledger) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    expect(counts.size).toBe(2000);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(ids.every((id) => counts.has(id))).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('a failing job is retried with its backoff and ends done on attempt 3, its errors recorded', async () => {
    const schema = fresh();
    const app = await createQueueApp(throughPooler(pooler.url, schema), [Work]);
    const id = await app.get<QueueSink>(getSinkToken('default')).push('flaky', {});
    await waitFor('done on the third attempt', async () => (await app.get(QueueAdmin).getJob(id))?.status === 'done');
    const row = (await pool.query(`SELECT attempts, result, last_error, errors FROM ${schema}.jobs WHERE id = $1`, [id])).rows[0];
    expect(row.attempts).toBe(3);
    expect(row.result).toEqual({ attempt: 3 });
    // The latest attempt succeeded: no last_error; both failures are in the history.
    expect(row.last_error).toBeNull();
    expect(row.errors.map((e: { attempt: number }) => e.attempt)).toEqual([1, 2]);
    expect(row.errors[1].error).toContain('attempt 2 fails');
    await app.close();
  });

  it('heartbeats refresh the workers row, and an orphan (a running job of a dead worker) is rescued and runs', async () => {
    const schema = fresh();
    ledger.length = 0;
    const app = await createQueueApp(throughPooler(pooler.url, schema, { heartbeatIntervalMs: 100, orphanTimeoutMs: 1000, pollIntervalMs: 100 }), [Work]);
    const me = app.get(QueueOrchestrator).workerId;
    const first = (await pool.query(`SELECT last_seen FROM ${schema}.workers WHERE worker_id = $1`, [me])).rows[0].last_seen as Date;
    await waitFor('a heartbeat to advance last_seen', async () => {
      const r = await pool.query(`SELECT last_seen FROM ${schema}.workers WHERE worker_id = $1`, [me]);
      return (r.rows[0]?.last_seen as Date | undefined)?.getTime()! > first.getTime();
    });
    await pool.query(
      `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, locked_at, locked_by)
       VALUES ('01J00000000000000000000001', 'default', 'job', '{}', 'running', 1, now() - interval '1 hour', 'ghost-worker')`,
    );
    await waitFor('the orphan rescued and run', () => ledger.some((r) => r.id === '01J00000000000000000000001'), 15_000);
    expect(ledger.find((r) => r.id === '01J00000000000000000000001')).toMatchObject({ attempt: 2, worker: me });
    await app.close();
  });

  it('shutdown drains an in-flight handler and acks it; past the grace period the job goes back to pending', async () => {
    const schema = fresh();
    gate = deferred();
    started = deferred();
    const app = await createQueueApp(throughPooler(pooler.url, schema, { shutdownGraceMs: 10_000 }), [Work]);
    const id = await app.get<QueueSink>(getSinkToken('default')).push('slow', {});
    await started.promise;
    const closing = app.close();
    gate.resolve();
    await closing;
    expect((await pool.query(`SELECT status, result FROM ${schema}.jobs WHERE id = $1`, [id])).rows[0]).toEqual({ status: 'done', result: 'finished' });
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.workers`)).rows[0].n).toBe(0);

    const schema2 = fresh();
    started = deferred();
    const app2 = await createQueueApp(throughPooler(pooler.url, schema2, { shutdownGraceMs: 200 }), [Work]);
    const stuck = await app2.get<QueueSink>(getSinkToken('default')).push('stuck', {});
    const job = await started.promise;
    await app2.close();
    expect(job.signal.aborted).toBe(true);
    const row = (await pool.query(`SELECT status, attempts, locked_by FROM ${schema2}.jobs WHERE id = $1`, [stuck])).rows[0];
    expect(row).toEqual({ status: 'pending', attempts: 0, locked_by: null });
  });
});
