import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueAdmin, QueueOrchestrator, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';

const ledger: Array<{ id: string; attempt: number; worker: string }> = [];
let hold = deferred();
let held = deferred<Job>();

@Processor('default')
@Injectable()
class Ledger {
  constructor(private readonly orchestrator: QueueOrchestrator) {}

  @Process('job')
  run(job: Job) {
    ledger.push({ id: job.id, attempt: job.attempt, worker: this.orchestrator.workerId });
  }

  @Process('held')
  async held(job: Job) {
    held.resolve(job);
    await hold.promise;
    return 'late';
  }
}

describe('consumer: sharing, rescue, fencing', () => {
  const { pool, fresh, dispose } = schemaScope();
  afterAll(dispose);

  it('two app instances on one schema share 5,000 jobs and no job runs twice', async () => {
    const schema = fresh();
    ledger.length = 0;
    const opts = { schema, queues: [{ name: 'default', concurrency: 16 }] };
    const [a, b] = await Promise.all([createQueueApp(opts, [Ledger]), createQueueApp(opts, [Ledger])]);
    const sink = a.get<QueueSink>(getSinkToken('default'));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(...(await sink.pushMany(Array.from({ length: 1000 }, (_, j) => ({ name: 'job', data: { i, j } })))));
    await waitFor('all 5,000 done', async () => (await a.get(QueueAdmin).stats()).default.done === 5000, 60_000, 100);
    const counts = new Map<string, number>();
    for (const r of ledger) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
    expect(counts.size).toBe(5000);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(ids.every((id) => counts.has(id))).toBe(true);
    const byWorker = new Set(ledger.map((r) => r.worker));
    expect(byWorker.size).toBe(2); // both processes took part
    await Promise.all([a.close(), b.close()]);
  });

  it("rescues an orphan: a running job whose worker has no fresh heartbeat (or no row) goes back to pending and runs; its attempt stays counted", async () => {
    const schema = fresh();
    ledger.length = 0;
    const app = await createQueueApp({ schema, heartbeatIntervalMs: 100, orphanTimeoutMs: 1000, pollIntervalMs: 100 }, [Ledger]);
    await pool.query(`INSERT INTO ${schema}.workers (worker_id, queue, lease_hash, last_seen) VALUES ('stale-worker', 'default', 'x', now() - interval '1 hour')`);
    await pool.query(
      `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, locked_at, locked_by) VALUES
       ('01J00000000000000000000001', 'default', 'job', '{}', 'running', 1, now() - interval '1 hour', 'ghost-worker'),
       ('01J00000000000000000000002', 'default', 'job', '{}', 'running', 1, now() - interval '1 hour', 'stale-worker'),
       ('01J00000000000000000000003', 'default', 'job', '{}', 'running', 1, now(), 'ghost-worker')`,
    );
    const orphans = ['01J00000000000000000000001', '01J00000000000000000000002'];
    // (The third may already have run too, once its own orphanTimeoutMs passed: not counted here.)
    await waitFor('two orphans rescued and run', () => orphans.every((id) => ledger.some((r) => r.id === id)), 10_000);
    expect(ledger.filter((r) => orphans.includes(r.id)).map((r) => r.attempt)).toEqual([2, 2]);
    // The freshly locked one is not rescued before orphanTimeoutMs has passed on the database clock.
    const fresh3 = (await pool.query(`SELECT status, locked_at > now() - interval '1 second' AS young FROM ${schema}.jobs WHERE id = '01J00000000000000000000003'`)).rows[0];
    if (fresh3.young) expect(fresh3.status).toBe('running');
    await waitFor('third rescued after the timeout', () => ledger.some((r) => r.id === '01J00000000000000000000003'), 10_000);
    await app.close();
  });

  it('fences acks: a stale worker whose job was re-claimed elsewhere changes nothing', async () => {
    const schema = fresh();
    hold = deferred();
    held = deferred();
    const app = await createQueueApp({ schema }, [Ledger]);
    const id = await app.get<QueueSink>(getSinkToken('default')).push('held', {});
    await held.promise;
    // Another worker took it over (as after a rescue and a new claim).
    await pool.query(`UPDATE ${schema}.jobs SET locked_by = 'other-worker', attempts = attempts + 1, locked_at = now() WHERE id = $1`, [id]);
    hold.resolve();
    await waitFor('late ack attempted', async () => {
      // The acker ran (it logs and drops the stale ack): nothing of ours is left in flight.
      return (app.get(QueueOrchestrator) as unknown as { acker: { size: number } }).acker.size === 0;
    });
    const row = (await pool.query(`SELECT status, locked_by, attempts, result FROM ${schema}.jobs WHERE id = $1`, [id])).rows[0];
    expect(row).toEqual({ status: 'running', locked_by: 'other-worker', attempts: 2, result: null });
    await pool.query(`UPDATE ${schema}.jobs SET status = 'done' WHERE id = $1`, [id]);
    await app.close();
  });

  it('returns to pending a job marked running under its own id that it does not hold (a claim reply lost)', async () => {
    const schema = fresh();
    ledger.length = 0;
    const app = await createQueueApp({ schema, heartbeatIntervalMs: 100, orphanTimeoutMs: 60_000 }, [Ledger]);
    const me = app.get(QueueOrchestrator).workerId;
    await pool.query(
      `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, locked_at, locked_by)
       VALUES ('01J00000000000000000000009', 'default', 'job', '{}', 'running', 1, now(), $1)`,
      [me],
    );
    await waitFor('lost claim reconciled and run', () => ledger.some((r) => r.id === '01J00000000000000000000009'), 10_000);
    // The lost claim's attempt is undone: the job ran as attempt 1.
    expect(ledger.find((r) => r.id === '01J00000000000000000000009')!.attempt).toBe(1);
    await app.close();
  });
});
