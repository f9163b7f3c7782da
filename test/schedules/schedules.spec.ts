import { Injectable, type INestApplication } from '@nestjs/common';
import { afterEach, afterAll, describe, expect, it } from 'vitest';
import { Cron, InvalidQueueOptionsError, Process, Processor, ProcessorDefinitionError, QueueAdmin, QueueSchedules, type Job } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { CapturingLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';
import { rejectionOf } from '../producer/support.js';

const runs: Array<{ id: string; slot: string; runAt: number; startedAt: number }> = [];

@Processor('cron')
@Injectable()
class Ticker {
  @Cron('* * * * * *', { key: 'tick', data: { kind: 'tick' }, metadata: { team: 'ops' } })
  @Process('tick')
  tick(job: Job<{ kind: string }>) {
    runs.push({ id: job.id, slot: String(job.metadata.slot), runAt: job.runAt.getTime(), startedAt: Date.now() });
  }

  @Process('report')
  report() {
    return 'reported';
  }
}

const rolled: Array<{ key: string; slot: string; data: unknown }> = [];

@Processor('roll')
@Injectable()
class Rolling {
  @Process('tick')
  tick(job: Job) {
    rolled.push({ key: String(job.metadata.schedule), slot: String(job.metadata.slot), data: job.data });
  }
}

describe('schedules: each slot enqueued once, with no leader', () => {
  const scope = schemaScope('sch');
  const apps: INestApplication[] = [];
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
    runs.length = 0;
  });
  afterAll(() => scope.dispose());
  const boot = async (schema: string, extra: Record<string, unknown> = {}, providers: unknown[] = [Ticker]) => {
    const app = await createQueueApp({ schema, queues: ['cron'], pollIntervalMs: 100, ...extra }, providers as never);
    apps.push(app);
    return app;
  };
  const jobsOf = async (schema: string, key: string) =>
    (
      await scope.pool.query(
        `SELECT id, run_at, metadata, idempotency_key, payload, status FROM ${schema}.jobs WHERE metadata->>'schedule' = $1 ORDER BY run_at`,
        [key],
      )
    ).rows;

  it('@Cron every second, three app instances: one job per slot, due at its slot, never started early', async () => {
    const schema = scope.fresh();
    await Promise.all([boot(schema), boot(schema), boot(schema)]);
    await waitFor('five slots run', () => runs.length >= 5, 20_000);
    const jobs = await jobsOf(schema, 'tick');
    const slots = jobs.map((j) => j.metadata.slot as string);
    expect(new Set(slots).size).toBe(slots.length);
    for (const j of jobs) {
      expect(new Date(j.metadata.slot).getTime()).toBe(j.run_at.getTime());
      expect(j.run_at.getMilliseconds()).toBe(0);
      expect(j.idempotency_key).toBe(`schedule:tick:${new Date(j.metadata.slot).toISOString()}`);
      expect(j.payload).toEqual({ kind: 'tick' });
      expect(j.metadata).toMatchObject({ team: 'ops', schedule: 'tick' });
    }
    // Consecutive seconds, none skipped between the first and the last.
    const times = jobs.map((j) => j.run_at.getTime());
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBe(1000);
    for (const r of runs) expect(r.startedAt).toBeGreaterThanOrEqual(r.runAt);
    expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
  });

  it('catch-up after a gap: latest runs the most recent missed slot once, none skips, within runs those in the window', async () => {
    const yearly = (catchUp: unknown) => ({ schedules: [{ key: 'new-year', cron: '0 0 1 1 *', queue: 'cron', name: 'report', catchUp }] });
    const cases: Array<[unknown, string[]]> = [
      ['latest', ['2026-01-01T00:00:00.000Z']],
      ['none', []],
      [{ within: 2 * 366 * 24 * 3600 * 1000 }, ['2025-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']],
    ];
    for (const [catchUp, expected] of cases) {
      const schema = scope.fresh();
      const first = await boot(schema, yearly(catchUp));
      await first.close();
      // No process ran since 2020: every new year since is missed.
      await scope.pool.query(`UPDATE ${schema}.schedules SET last_slot = '2020-01-01T00:00:00Z', next_slot = '2021-01-01T00:00:00Z'`);
      const app = await boot(schema, yearly(catchUp));
      const schedules = app.get(QueueSchedules);
      await waitFor('the gap handled', async () => (await schedules.listSchedules())[0].nextSlot.toISOString() === '2027-01-01T00:00:00.000Z');
      const jobs = await jobsOf(schema, 'new-year');
      expect(jobs.map((j) => j.run_at.toISOString()), JSON.stringify(catchUp)).toEqual(expected);
      expect((await schedules.listSchedules())[0].lastSlot?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    }
  });

  it('deploys: a changed schedule is updated without a second run of its slot, an undeclared one removed, another owner left alone', async () => {
    const schema = scope.fresh();
    const v1 = {
      schedules: [
        { key: 'daily', cron: '0 3 * * *', tz: 'Europe/Berlin', queue: 'cron', name: 'report' },
        { key: 'old', cron: '0 4 * * *', queue: 'cron', name: 'report' },
      ],
    };
    const a = await boot(schema, v1, []);
    await boot(schema, { scheduleOwner: 'billing', queues: ['invoices'], schedules: [{ key: 'invoices', cron: '0 5 * * *', queue: 'invoices', name: 'send' }] }, []);
    const schedules = a.get(QueueSchedules);
    expect((await schedules.listSchedules()).map((s) => [s.key, s.owner])).toEqual([
      ['daily', 'default'],
      ['invoices', 'billing'],
      ['old', 'default'],
    ]);
    const before = (await schedules.listSchedules()).find((s) => s.key === 'daily')!;
    expect(before.nextSlot.toISOString()).toMatch(/T0[12]:00:00\.000Z$/); // 03:00 in Berlin
    const v2 = { schedules: [{ key: 'daily', cron: '30 3 * * *', tz: 'Europe/Berlin', queue: 'cron', name: 'report' }] };
    await boot(schema, v2, []);
    const after = await schedules.listSchedules();
    expect(after.map((s) => s.key)).toEqual(['daily', 'invoices']);
    const daily = after.find((s) => s.key === 'daily')!;
    expect(daily.cron).toBe('30 3 * * *');
    expect(daily.nextSlot.toISOString()).toMatch(/T0[12]:30:00\.000Z$/);
    expect(daily.lastSlot!.getTime()).toBeGreaterThanOrEqual(before.lastSlot!.getTime());
    // A key another owner holds is refused, and nothing of this app's schedules changed.
    const err = await rejectionOf(boot(schema, { schedules: [{ key: 'invoices', cron: '* * * * *', queue: 'cron', name: 'report' }] }, []));
    expect(err).toBeInstanceOf(InvalidQueueOptionsError);
    expect(err.message).toBe(
      'QueueModule option "schedule "invoices".key" belongs to another app (scheduleOwner "billing"): give this app\'s schedule another key, or the same scheduleOwner',
    );
    expect((await schedules.listSchedules()).map((s) => s.key)).toEqual(['daily', 'invoices']);
  });

  it('a rolling deploy, old and new code side by side and booting in turns: no slot doubled or dropped, changed or not', async () => {
    const schema = scope.fresh();
    const version = (v: number) => ({
      queues: ['cron', 'roll'],
      schedules: [
        { key: 'same', cron: '* * * * * *', queue: 'roll', name: 'tick' },
        // Changed between the versions (its data): each boot of the other version updates it.
        { key: 'changed', cron: '* * * * * *', queue: 'roll', name: 'tick', data: { v } },
        v === 1 ? { key: 'only-v1', cron: '0 3 * * *', queue: 'roll', name: 'tick' } : { key: 'only-v2', cron: '0 4 * * *', queue: 'roll', name: 'tick' },
      ],
    });
    const running: INestApplication[] = [await boot(schema, version(1), [Rolling]), await boot(schema, version(1), [Rolling])];
    const ticks = () => rolled.filter((r) => r.key === 'same').length;
    const seconds = async (n: number) => {
      const from = ticks();
      await waitFor(`${n} more slots`, () => ticks() >= from + n, 20_000);
    };
    await seconds(2);
    // New instances come up one by one while old ones go down; one old one even restarts.
    for (const v of [2, 1, 2, 2]) {
      running.push(await boot(schema, version(v), [Rolling]));
      await seconds(1);
      await running.shift()!.close();
      await seconds(1);
    }
    await seconds(2);
    for (const key of ['same', 'changed']) {
      const { rows } = await scope.pool.query(
        `SELECT run_at FROM ${schema}.jobs WHERE metadata->>'schedule' = $1 AND run_at <= now() ORDER BY run_at`,
        [key],
      );
      const times = rows.map((r) => r.run_at.getTime());
      expect(new Set(times).size, key).toBe(times.length);
      for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1], `${key} at ${new Date(times[i]).toISOString()}`).toBe(1000);
      expect(times.length).toBeGreaterThanOrEqual(10);
    }
    expect((await running[0].get(QueueSchedules).listSchedules()).map((r) => r.key)).toEqual(['changed', 'only-v2', 'same']);
  });

  it('operate: pause stops the slots, resume restarts after now (the pause owes nothing), trigger enqueues one now', async () => {
    const schema = scope.fresh();
    const app = await boot(schema);
    const schedules = app.get(QueueSchedules);
    await waitFor('a tick', () => runs.length >= 1, 20_000);
    const paused = await schedules.pauseSchedule('tick');
    expect(paused).toMatchObject({ key: 'tick', paused: true });
    const count = async () => (await jobsOf(schema, 'tick')).length;
    const atPause = await count();
    // Slots keep passing: wait for the table's clock to move three of them on.
    const { rows } = await scope.pool.query('SELECT now() AS t');
    await waitFor('three seconds of database time', async () => (await scope.pool.query(`SELECT now() - $1::timestamptz > interval '3 seconds' AS ok`, [rows[0].t])).rows[0].ok);
    // At most the one slot already enqueued ahead (the lookahead) when the pause came.
    expect(await count()).toBeLessThanOrEqual(atPause + 1);
    const resumed = await schedules.resumeSchedule('tick');
    expect(resumed).toMatchObject({ key: 'tick', paused: false });
    expect(resumed!.lastSlot!.getTime()).toBeGreaterThanOrEqual(rows[0].t.getTime() + 3000);
    await waitFor('ticks again', async () => (await count()) >= atPause + 3, 20_000);
    expect(await schedules.resumeSchedule('tick')).toBeNull();

    const id = await schedules.triggerNow('tick');
    const job = await app.get(QueueAdmin).getJob(id!);
    expect(job!.metadata).toMatchObject({ schedule: 'tick', slot: null, trigger: 'manual' });
    expect(await schedules.triggerNow('nope')).toBeNull();
    expect(await schedules.pauseSchedule('nope')).toBeNull();
  });

  it('a schedule whose job no handler has anywhere is allowed, and said once at bootstrap', async () => {
    const logger = new CapturingLogger();
    const app = await createQueueApp(
      { schema: scope.fresh(), workers: false, queues: ['cron'], schedules: [{ key: 'orphan', cron: '0 3 * * *', queue: 'cron', name: 'nobody' }] },
      [],
      [],
      logger,
    );
    apps.push(app);
    expect(logger.warnings.filter((w) => w.startsWith('schedule "orphan"'))).toEqual([
      'schedule "orphan" enqueues job "nobody" in queue "cron", which no handler of this app and no live worker has: its jobs wait until one runs',
    ]);
  });

  it('bad declarations fail at bootstrap, naming the schedule and the field', async () => {
    const bad = (s: Record<string, unknown>) => ({ schedules: [{ key: 'k', cron: '0 3 * * *', queue: 'cron', name: 'report', ...s }] });
    const cases: Array<[Record<string, unknown>, string]> = [
      [bad({ cron: '0 3 * *' }), 'QueueModule option "schedule "k".cron" must have 5 fields (minute hour day month weekday) or 6 (seconds first), got 4: "0 3 * *"'],
      [bad({ cron: '0 25 * * *' }), 'QueueModule option "schedule "k".cron" is not a valid cron expression: "0 25 * * *"'],
      [bad({ tz: 'Europe/Berln' }), 'QueueModule option "schedule "k".tz" is not a time zone this Node knows: "Europe/Berln" (an IANA name, e.g. "Europe/Berlin")'],
      [bad({ catchUp: 'all' }), 'QueueModule option "schedule "k".catchUp" must be \'none\', \'latest\' or { within: ms } (a positive integer)'],
      [bad({ crons: 'x' }), 'QueueModule option "schedules[0].crons" is not a schedule option; did you mean "cron"?'],
      [bad({ data: { when: new Map() } }), 'QueueModule option "schedule "k".data.when" is a Map, which JSON would drop or change: convert it first (e.g. [...set], Object.fromEntries(map), null)'],
    ];
    for (const [extra, message] of cases) {
      const err = await rejectionOf(boot(scope.fresh(), extra, []));
      expect(err, message).toBeInstanceOf(InvalidQueueOptionsError);
      expect(err.message.startsWith(message), `${err.message}\n!=\n${message}`).toBe(true);
    }
    const twice = await rejectionOf(boot(scope.fresh(), { schedules: [{ key: 'tick', cron: '0 * * * *', queue: 'cron', name: 'tick' }] }));
    expect(twice.message).toBe('QueueModule option "schedule "tick".key" is declared twice: by schedules[0] and by @Cron on Ticker.tick');

    @Processor('cron')
    @Injectable()
    class Stray {
      @Cron('0 * * * *')
      notAHandler() {}

      @Process('x')
      x() {}
    }
    const stray = await rejectionOf(boot(scope.fresh(), {}, [Stray]));
    expect(stray).toBeInstanceOf(ProcessorDefinitionError);
    expect(stray.message).toBe('@Cron on Stray.notAHandler: it must be on a @Process method of a @Processor class (the job it enqueues is that handler\'s)');
  });
});
