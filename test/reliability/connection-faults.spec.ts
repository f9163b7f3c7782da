/**
 * Issue 6, items 3 and 4: the LISTEN connection terminated again and again under load, and a
 * network blip that terminates every connection of one process at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FixtureEvent } from './fixtures/worker-app.js';
import { databaseUrl, testPool } from '../helpers/db.js';
import { report, Scenario, scaled, timeoutFor, until, type FixtureProcess } from './support/harness.js';

const pool = testPool(4);
const base = { heartbeatIntervalMs: 250, orphanTimeoutMs: 2000 };

function progressAtLeast(p: FixtureProcess, n: number): Promise<unknown> {
  return p.waitEvent(`${n} jobs pushed`, (e) => e.type === 'progress' && e.pushed >= n, 120_000);
}

describe('reliability: connection faults', () => {
  let sc: Scenario | null = null;
  afterEach(async () => {
    await sc?.teardown();
    sc = null;
  });

  const JOBS_3 = scaled(5000);
  const KILLS_3 = scaled(10);
  // The subject polls once a minute, far beyond this test: a probe it starts within this bound
  // was woken by NOTIFY. The bound is generous (a loaded machine may take a few hundred ms from
  // the commit to the handler); what it catches is a reconnect that leaves pickup to polling.
  const SUBJECT_POLL_MS = 60_000;
  const NOTIFY_PICKUP_MS = 2000;
  it(
    `3. the LISTEN connection terminated ${KILLS_3} times during a load of ${JOBS_3} jobs; pass: nothing lost, nothing twice, after each reconnect probes are picked up through NOTIFY (within ${NOTIFY_PICKUP_MS} ms; the subject polls every ${SUBJECT_POLL_MS / 1000} s)`,
    async () => {
      sc = new Scenario(databaseUrl(), pool, 'listen');
      await sc.setup();
      const subject = sc.spawn({ ...base, role: 'worker', pollIntervalMs: SUBJECT_POLL_MS, queues: [{ name: 'load' }, { name: 'probe' }] });
      const other = sc.spawn({ ...base, role: 'worker', pollIntervalMs: 200, queues: [{ name: 'load' }] });
      const producer = sc.spawn({ role: 'producer', queues: [{ name: 'load' }, { name: 'probe' }] });
      await Promise.all([subject, other, producer].map((p) => p.ready()));
      await subject.waitEvent('first LISTEN', (e) => e.type === 'reconnect');
      /** Pushes one probe and returns its pickup latency (push -> handler start, both on the database clock). */
      const probe = async (): Promise<number> => {
        const [id] = await producer.request<string[]>({ cmd: 'push', queue: 'probe', jobs: [{ name: 'probe', data: null }] });
        return until(`probe ${id} to start`, async () => {
          const r = await pool.query(
            `SELECT extract(epoch FROM l.started_at - j.created_at) * 1000 AS ms FROM ${sc!.s}.ledger l JOIN ${sc!.s}.jobs j ON j.id = l.job_id WHERE l.job_id = $1`,
            [id],
          );
          return r.rows[0] ? Number(r.rows[0].ms) : null;
        }, 10_000, 5);
      };
      // Warm up the probe path (prepared statements, JIT) before measuring it.
      for (let i = 0; i < 5; i++) await probe();

      // A steady load at about 500 jobs/s, in small statements.
      const produced = producer.request<number>({ cmd: 'produce', queue: 'load', name: 'work', count: JOBS_3, batch: 10, ratePerSec: 500 }, timeoutFor(180_000));
      const latencies: number[][] = [];
      const reconnectMs: number[] = [];
      for (let i = 1; i <= KILLS_3; i++) {
        await Promise.race([progressAtLeast(producer, Math.floor((i * JOBS_3) / (KILLS_3 + 2))), produced]);
        const generation = (subject.events.filter((e) => e.type === 'reconnect').at(-1) as Extract<FixtureEvent, { type: 'reconnect' }>).generation;
        const killedAt = Date.now();
        expect(await sc.terminate(subject.tag, 'listen')).toBe(1);
        await subject.waitEvent(`reconnect #${i}`, (e) => e.type === 'reconnect' && e.generation > generation, 15_000);
        reconnectMs.push(Date.now() - killedAt);
        // The event comes after every channel is LISTENed again. Two probes: the first could be
        // taken by the reconnect's catch-up claim; the second only NOTIFY can deliver in time.
        const pair = [await probe(), await probe()];
        latencies.push(pair.map((x) => Math.round(x)));
        for (const ms of pair) expect(ms, `pickup latency after reconnect #${i}`).toBeLessThan(NOTIFY_PICKUP_MS);
      }
      expect(await produced).toBe(JOBS_3);
      const probes = await sc.count(`SELECT count(*) FROM $S.jobs WHERE queue = 'probe'`);
      await sc.waitAllDone(JOBS_3 + probes, timeoutFor(120_000));
      const l = await sc.ledger();
      expect(await sc.lost()).toBe(0);
      expect(l.distinct).toBe(JOBS_3 + probes);
      expect(l.twice.size).toBe(0);
      expect(sc.fatals()).toEqual([]);
      report({
        scenario: '3 LISTEN terminated',
        jobs: JOBS_3,
        processes: 3,
        faults: `${KILLS_3} x pg_terminate_backend(LISTEN)`,
        lost: 0,
        twice: 0,
        extra: `reconnect ms ${JSON.stringify(reconnectMs)}, probe latency ms after each reconnect ${JSON.stringify(latencies)}`,
      });
    },
    timeoutFor(240_000),
  );

  const JOBS_4 = scaled(4000);
  const BLIPS_4 = 3;
  it(
    `4. network blip: every connection of one process terminated at once, ${BLIPS_4} times during ${JOBS_4} jobs; pass: nothing lost, runs twice only for jobs in flight then, no unhandled error, the process works on without a restart`,
    async () => {
      sc = new Scenario(databaseUrl(), pool, 'blip');
      await sc.setup();
      const CONCURRENCY = 10;
      const subject = sc.spawn({ ...base, role: 'worker', pollIntervalMs: 200, queues: [{ name: 'load', concurrency: CONCURRENCY }] });
      const other = sc.spawn({ ...base, role: 'worker', pollIntervalMs: 200, queues: [{ name: 'load', concurrency: CONCURRENCY }] });
      const producer = sc.spawn({ role: 'producer', queues: [{ name: 'load' }] });
      await Promise.all([subject, other, producer].map((p) => p.ready()));
      const produced = producer.request<number>(
        { cmd: 'produce', queue: 'load', name: 'work', count: JOBS_4, batch: 20, ratePerSec: 800, data: { sleepMs: 10 } },
        timeoutFor(180_000),
      );
      const blips: Array<{ at: Date; killed: number }> = [];
      const listenGeneration = (g: number) => subject.waitEvent(`LISTEN generation ${g}`, (e) => e.type === 'reconnect' && e.generation >= g, 30_000);
      for (let i = 1; i <= BLIPS_4; i++) {
        await Promise.race([progressAtLeast(producer, Math.floor((i * JOBS_4) / (BLIPS_4 + 1))), produced]);
        // Established before each blip: the LISTEN is back from the previous one (generation i),
        // the pool has a connection open, and the subject is running jobs.
        await listenGeneration(i);
        await until('the subject to have a pool connection open', async () => (await sc!.backends(subject.tag, 'queue')).length > 0, 10_000);
        await until('the subject to hold jobs in flight', () => sc!.count(`SELECT count(*) FROM $S.ledger WHERE pid = $1 AND started_at > clock_timestamp() - interval '1 second'`, [subject.pid]), 10_000);
        const killed = await sc.terminate(subject.tag);
        const { rows: [{ at }] } = await pool.query('SELECT clock_timestamp() AS at');
        blips.push({ at, killed });
        expect(killed).toBeGreaterThanOrEqual(2); // at least its LISTEN and a pool connection
      }
      expect(await produced).toBe(JOBS_4);
      await sc.waitAllDone(JOBS_4, timeoutFor(120_000));
      // Every blip cut a live LISTEN, and each one was re-established by the process itself.
      await listenGeneration(BLIPS_4 + 1);

      // It goes on working without a restart: a second batch after the last blip; and, if the
      // other process happened to take all of it, more until the subject has run some.
      const more = scaled(400);
      await producer.request({ cmd: 'produce', queue: 'load', name: 'work', count: more, batch: 20, data: { sleepMs: 10 } });
      await sc.waitAllDone(JOBS_4 + more, timeoutFor(60_000));
      const extra = await sc.pushUntilRunBy(producer, 'load', subject, blips.at(-1)!.at);
      const total = JOBS_4 + more + extra.length;
      await sc.waitAllDone(total, timeoutFor(60_000));
      const after = await sc.count(`SELECT count(*) FROM $S.ledger WHERE pid = $1 AND started_at > $2`, [subject.pid, blips.at(-1)!.at]);
      expect(after).toBeGreaterThan(0);
      expect(subject.alive).toBe(true);

      const l = await sc.ledger();
      expect(await sc.lost()).toBe(0);
      expect(l.distinct).toBe(total);
      // A job runs twice only if the subject had it in flight at a blip: its first run was by
      // the subject and started before that blip; at most `concurrency` such jobs per blip.
      for (const [id, runs] of l.twice) {
        expect(runs[0].pid, `job ${id} ran twice without being in flight in the blipped process`).toBe(subject.pid);
        expect(blips.some((b) => runs[0].started_at <= b.at)).toBe(true);
      }
      expect(l.twice.size).toBeLessThanOrEqual(BLIPS_4 * CONCURRENCY);
      // No unhandled 'error' event, no unhandled rejection, in any process.
      expect(sc.fatals()).toEqual([]);
      report({
        scenario: '4 network blip',
        jobs: total,
        processes: 3,
        faults: `${BLIPS_4} x terminate every connection of 1 process`,
        lost: 0,
        twice: l.twice.size,
        extra: `backends terminated per blip ${JSON.stringify(blips.map((b) => b.killed))}`,
      });
    },
    timeoutFor(240_000),
  );
});
