/**
 * Issue 17, item 7: recurring jobs with no leader, under faults. Fixture processes (real child
 * processes) all declare one schedule; the ledger records every handler run.
 * 12a: 20 instances boot at once, a 1-second schedule runs for 60 slots; two instances are
 *      SIGKILLed and one SIGSTOPped part way. Pass: every slot enqueued exactly once, none missing
 *      between the first and the last, run (ledger) with none lost, none early (the database's
 *      clock), and a job run twice only if it was in flight in a killed or stopped process.
 * 12b: instances whose Node clocks are 10 minutes ahead and behind. Pass: the same, and no slot
 *      off the schedule (every run_at a whole second).
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../helpers/db.js';
import { report, Scenario, timeoutFor, until, type FixtureOptions } from './support/harness.js';

describe('reliability: schedules with no leader', () => {
  let pool: pg.Pool;
  let sc: Scenario | null = null;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: databaseUrl(), max: 3 });
  });
  afterEach(async () => {
    for (const p of sc?.processes ?? []) if (p.alive) p.kill('SIGCONT');
    await sc?.teardown();
    sc = null;
  }, 60_000);
  afterAll(() => pool.end());

  const spec = (extra: Partial<FixtureOptions> = {}): FixtureOptions => ({
    role: 'worker',
    queues: [{ name: 'cron', concurrency: 4 }],
    poolMax: 3,
    pollIntervalMs: 200,
    heartbeatIntervalMs: 250,
    orphanTimeoutMs: 2000,
    schedules: [{ key: 'every-second', cron: '* * * * * *', queue: 'cron', name: 'probe' }],
    ...extra,
  });

  /** The schedule's jobs so far: each slot's count, and the ledger's verdict. */
  async function verdict(s: Scenario) {
    const { rows: slots } = await s.pool.query(
      `SELECT run_at, count(*)::int AS n FROM ${s.s}.jobs WHERE metadata->>'schedule' = 'every-second' GROUP BY run_at ORDER BY run_at`,
    );
    const { rows: early } = await s.pool.query(
      `SELECT count(*)::int AS n FROM ${s.s}.ledger l JOIN ${s.s}.jobs j ON j.id = l.job_id WHERE l.started_at < j.run_at`,
    );
    return { slots: slots as Array<{ run_at: Date; n: number }>, early: early[0].n as number };
  }

  function expectEverySlotOnce(slots: Array<{ run_at: Date; n: number }>, atLeast: number): void {
    expect(slots.length).toBeGreaterThanOrEqual(atLeast);
    for (const s of slots) expect(s.n, s.run_at.toISOString()).toBe(1);
    for (const s of slots) expect(s.run_at.getMilliseconds()).toBe(0);
    for (let i = 1; i < slots.length; i++) expect(slots[i].run_at.getTime() - slots[i - 1].run_at.getTime(), slots[i].run_at.toISOString()).toBe(1000);
  }

  it(
    '12a. 20 instances boot at once, a 1-second schedule for 60 slots, two SIGKILLed and one SIGSTOPped part way',
    async () => {
      sc = new Scenario(databaseUrl(), pool, 'cron');
      await sc.setup();
      const procs = Array.from({ length: 20 }, () => sc!.spawn(spec()));
      await Promise.all(procs.map((p) => p.ready(timeoutFor(120_000))));
      const slotsSoFar = async () => (await verdict(sc!)).slots.filter((s) => s.run_at <= new Date()).length;
      await until('20 slots', async () => (await slotsSoFar()) >= 20, timeoutFor(60_000), 200);
      procs[3].kill('SIGKILL');
      procs[11].kill('SIGKILL');
      procs[7].kill('SIGSTOP');
      await until('60 slots', async () => (await slotsSoFar()) >= 60, timeoutFor(90_000), 200);
      // Let the last ones run (and any job the stopped process held be rescued).
      await until(
        'every enqueued job due so far done',
        () => sc!.count(`SELECT count(*) FROM $S.jobs WHERE run_at <= now() - interval '4 seconds' AND status <> 'done'`).then((n) => n === 0),
        timeoutFor(30_000),
        200,
      );
      const v = await verdict(sc);
      const due = v.slots.filter((s) => s.run_at.getTime() <= Date.now() - 4000);
      expectEverySlotOnce(due, 55);
      expect(v.early).toBe(0);
      const l = await sc.ledger();
      const lost = await sc.count(`SELECT count(*) FROM $S.jobs j WHERE j.run_at <= now() - interval '4 seconds' AND NOT EXISTS (SELECT 1 FROM $S.ledger l WHERE l.job_id = j.id)`);
      expect(lost).toBe(0);
      const faulted = new Set([procs[3].pid, procs[11].pid, procs[7].pid]);
      for (const [id, runs] of l.twice) expect(runs.some((r) => faulted.has(r.pid)), `job ${id} ran twice outside the faulted processes`).toBe(true);
      expect(sc.fatals()).toEqual([]);
      report({
        scenario: '12a schedules, 20 instances',
        jobs: due.length,
        processes: 20,
        faults: 'two SIGKILLed and one SIGSTOPped after 20 slots of a 1-second schedule',
        lost: 0,
        twice: l.twice.size,
        extra: 'every slot enqueued exactly once, none early',
      });
    },
    timeoutFor(240_000),
  );

  it(
    '12b. instances with Node clocks 10 minutes ahead and behind: slots by the database clock, each once, none early',
    async () => {
      sc = new Scenario(databaseUrl(), pool, 'cronskew');
      await sc.setup();
      const procs = [sc.spawn(spec({ clockSkewMs: 600_000 })), sc.spawn(spec({ clockSkewMs: -600_000 })), sc.spawn(spec({ clockSkewMs: 0 }))];
      await Promise.all(procs.map((p) => p.ready()));
      await until('20 slots', async () => (await verdict(sc!)).slots.filter((s) => s.run_at.getTime() <= Date.now() - 2000).length >= 20, timeoutFor(60_000), 200);
      await until(
        'due jobs done',
        () => sc!.count(`SELECT count(*) FROM $S.jobs WHERE run_at <= now() - interval '2 seconds' AND status <> 'done'`).then((n) => n === 0),
        timeoutFor(30_000),
      );
      const v = await verdict(sc);
      const { rows } = await pool.query('SELECT now() AS now');
      const due = v.slots.filter((s) => s.run_at.getTime() <= rows[0].now.getTime() - 2000);
      expectEverySlotOnce(due, 20);
      expect(v.early).toBe(0);
      // Slots are the database's: none ten minutes off it.
      for (const s of v.slots) expect(Math.abs(s.run_at.getTime() - rows[0].now.getTime())).toBeLessThan(120_000);
      expect((await sc.ledger()).twice.size).toBe(0);
      expect(sc.fatals()).toEqual([]);
      report({
        scenario: '12b schedules, clocks ±10 min',
        jobs: due.length,
        processes: 3,
        faults: 'Node clocks 10 minutes ahead and behind the database',
        lost: 0,
        twice: 0,
        extra: 'every slot once, on the database clock',
      });
    },
    timeoutFor(120_000),
  );
});
