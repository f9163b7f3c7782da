/**
 * Issue 6, item 10: zombie fencing. A worker process is frozen with SIGSTOP for twice
 * orphanTimeoutMs while it runs a job; another process rescues and completes that job; then the
 * frozen one is resumed with SIGCONT.
 * Pass: the frozen worker's late ack and late heartbeat change no row, the job's final row is the
 * one the other process wrote, and the resumed process goes on working (under a new identity).
 * Jobs waiting in the queue when it wakes up are not claimed under its expired identity (that
 * would get them run twice): only the frozen job runs twice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { databaseUrl, testPool } from '../helpers/db.js';
import { report, Scenario, until } from './support/harness.js';

const pool = testPool(3);
const ORPHAN_MS = 2000;

describe('reliability: zombie fencing', () => {
  let sc: Scenario | null = null;
  afterAll(async () => {
    await sc?.teardown();
  });

  it(`10. SIGSTOP a worker for 2 x orphanTimeoutMs (${2 * ORPHAN_MS} ms) mid-job, SIGCONT after the job was rescued and completed elsewhere; pass: its late ack and heartbeat change nothing, it works on`, async () => {
    sc = new Scenario(databaseUrl(), pool, 'zombie');
    await sc.setup();
    const timing = { pollIntervalMs: 200, heartbeatIntervalMs: 250, orphanTimeoutMs: ORPHAN_MS };
    const zombie = sc.spawn({ ...timing, role: 'worker', queues: [{ name: 'z', concurrency: 5 }] });
    await zombie.ready();
    const zombieId = await zombie.whoami();
    let jobId = '';
    const startJob = async () => {
      [jobId] = await zombie.request<string[]>({ cmd: 'push', queue: 'z', jobs: [{ name: 'work', data: { sleepMs: 1500 } }] });
      await until('the job to start in the zombie', () => sc!.count('SELECT count(*) FROM $S.ledger WHERE job_id = $1', [jobId]), 10_000, 5);
    };
    await startJob();
    // Frozen mid-job, established: stopped, its backends settled, and the job still running under
    // its id (not acked before the signal landed). Had it finished first, another one is started.
    await sc.stopWhen(zombie, 'the zombie to be frozen with its job in flight', async () => {
      const inFlight = (await sc!.count(`SELECT count(*) FROM $S.jobs WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = 1`, [jobId, zombieId])) === 1;
      if (!inFlight) {
        zombie.kill('SIGCONT');
        await until('the finished job to be done', async () => (await sc!.count(`SELECT count(*) FROM $S.jobs WHERE id = $1 AND status = 'done'`, [jobId])) === 1, 10_000);
        await startJob();
      }
      return inFlight;
    });
    const stoppedAt = Date.now();
    const other = sc.spawn({ ...timing, role: 'worker', queues: [{ name: 'z', concurrency: 5 }] });
    await other.ready();
    const final = await until('the job to be rescued and completed by the other process', async () => {
      const r = await pool.query(`SELECT * FROM ${sc!.s}.jobs WHERE id = $1 AND status = 'done'`, [jobId]);
      return r.rows[0] ?? null;
    }, 20_000);
    expect(final.result).toEqual({ pid: other.pid });
    expect(final.attempts).toBe(2);
    // Jobs waiting when the zombie wakes: the other process runs them slowly (5 slots x 300 ms).
    const waiting = await other.request<string[]>({ cmd: 'push', queue: 'z', jobs: Array.from({ length: 40 }, () => ({ name: 'work', data: { sleepMs: 300 } })) });
    // Frozen for twice the orphan timeout in all.
    await until('2 x orphanTimeoutMs to pass since SIGSTOP', () => Date.now() - stoppedAt >= 2 * ORPHAN_MS, 20_000, 50);
    const zombieRows = (await pool.query(`SELECT queue, last_seen, lease_hash FROM ${sc.s}.workers WHERE worker_id = $1 ORDER BY queue`, [zombieId])).rows;
    // 40 jobs at 5 x 300 ms take the other process at least 2.4 s; the wait above is at most the
    // 0.5 s left of the freeze after the rescue (>= orphanTimeoutMs) and the 1.5 s job: some still wait.
    expect(await sc.count(`SELECT count(*) FROM $S.jobs WHERE id = ANY($1) AND status = 'pending'`, [waiting])).toBeGreaterThan(0);

    zombie.kill('SIGCONT');
    // It notices its lease expired and continues under a new identity.
    const newId = await until('the zombie to renew its identity', async () => {
      const id = await zombie.whoami();
      return id !== zombieId ? id : null;
    }, 15_000, 100);
    await until('the zombie to settle its stale attempt', () => zombie.output.some((l) => l.includes(`stale ack ignored: job ${jobId}`) || l.includes(`lease of worker ${zombieId} expired`)), 10_000);

    // The job's row is exactly what the other process wrote.
    expect((await pool.query(`SELECT * FROM ${sc.s}.jobs WHERE id = $1`, [jobId])).rows[0]).toEqual(final);
    // The late heartbeat refreshed nothing under the old identity.
    expect((await pool.query(`SELECT queue, last_seen, lease_hash FROM ${sc.s}.workers WHERE worker_id = $1 ORDER BY queue`, [zombieId])).rows).toEqual(zombieRows);

    // It goes on working: more jobs, some of them run by the resumed process under its new id.
    const resumedAt = (await pool.query('SELECT clock_timestamp() AS t')).rows[0].t;
    const more = await other.request<string[]>({ cmd: 'push', queue: 'z', jobs: Array.from({ length: 100 }, () => ({ name: 'work', data: { sleepMs: 20 } })) });
    const total = await sc.count('SELECT count(*) FROM $S.jobs');
    await sc.waitAllDone(total, 30_000);
    // If the other process took all of them, more until the resumed one has run some.
    const extra = await sc.pushUntilRunBy(other, 'z', zombie, resumedAt, { worker: newId, data: { sleepMs: 20 } });
    await sc.waitAllDone(total + extra.length, 30_000);
    expect(await sc.count('SELECT count(*) FROM $S.ledger WHERE pid = $1 AND started_at > $2 AND worker = $3', [zombie.pid, resumedAt, newId])).toBeGreaterThan(0);

    const l = await sc.ledger();
    expect(l.distinct).toBe(total + extra.length);
    expect(more.length).toBe(100);
    // Only the frozen job ran twice (once in the zombie, once in the other process).
    expect([...l.twice.keys()]).toEqual([jobId]);
    expect(l.twice.get(jobId)!.map((r) => [r.pid, r.attempt])).toEqual([
      [zombie.pid, 1],
      [other.pid, 2],
    ]);
    expect(sc.fatals()).toEqual([]);
    report({ scenario: '10 zombie fencing', jobs: l.distinct, processes: 2, faults: `SIGSTOP ${2 * ORPHAN_MS} ms mid-job, SIGCONT`, lost: 0, twice: l.twice.size, extra: 'the frozen job only' });
  }, 90_000);
});
