/**
 * Issue 6, item 11: a boot storm and skewed clocks.
 * - Twenty app instances (each with its own pool) boot at once on an empty schema.
 *   Pass: every migration applied exactly once, no boot fails, the instances then share work.
 * - Worker processes whose Node clock is ten minutes ahead and ten minutes behind (Date faked in
 *   the fixture), next to one with a true clock. Pass: no delayed job runs before its run_at,
 *   and nobody's long-running job is rescued early, because every comparison uses the database's
 *   clock.
 */
import { Injectable, type INestApplication } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, loadMigrations, Process, Processor, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { report, Scenario, until } from './support/harness.js';

const pool = testPool(3);
const runs: Array<{ id: string; app: number }> = [];

describe('reliability: boot storm and clocks', () => {
  afterAll(async () => {
    await pool.end();
  });

  it('11a. twenty app instances boot at once on an empty schema; pass: each migration applied exactly once, no boot fails, they share the work', async () => {
    const schema = uniqueSchema('rel_storm');
    const apps: INestApplication[] = [];
    try {
      const boots = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => {
          @Processor('default')
          @Injectable()
          class StormProcessor {
            @Process('work')
            work(job: Job) {
              runs.push({ id: job.id, app: i });
            }
          }
          return createQueueApp({ schema, connection: { connectionString: databaseUrl(), max: 2 } }, [StormProcessor]);
        }),
      );
      for (const b of boots) if (b.status === 'fulfilled') apps.push(b.value);
      expect(boots.filter((b) => b.status === 'rejected').map((b) => String((b as PromiseRejectedResult).reason))).toEqual([]);
      const applied = await pool.query(`SELECT version, name, checksum FROM ${schema}.migrations ORDER BY version`);
      expect(applied.rows).toEqual(loadMigrations().map((m) => ({ version: m.version, name: m.name, checksum: m.checksum })));
      // The objects of migration 1 exist once (a second application would have failed on them).
      const triggers = await pool.query(`SELECT count(*)::int AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal`, [schema]);
      expect(triggers.rows[0].n).toBe(1);
      // And they work together: 400 jobs, each run once.
      const ids = await apps[0].get<QueueSink>(getSinkToken('default')).pushMany(Array.from({ length: 400 }, () => ({ name: 'work', data: null })));
      const mine = new Set(ids);
      await until('the storm apps to run every job', () => runs.filter((r) => mine.has(r.id)).length >= ids.length, 30_000);
      const ran = runs.filter((r) => mine.has(r.id));
      expect(new Set(ran.map((r) => r.id)).size).toBe(ids.length);
      expect(ran.length).toBe(ids.length);
      report({ scenario: '11 boot storm', jobs: ids.length, processes: 1, faults: '20 app instances booting at once on an empty schema', lost: 0, twice: 0, extra: `${new Set(ran.map((r) => r.app)).size} instances ran jobs` });
    } finally {
      await Promise.all(apps.map((a) => a.close()));
      await dropSchema(pool, schema);
    }
  }, 120_000);

  it('11b. worker processes with Node clocks 10 minutes ahead and behind; pass: no early run, no early rescue (the database clock decides)', async () => {
    const sc = new Scenario(databaseUrl(), pool, 'clock');
    await sc.setup();
    try {
      const ORPHAN_MS = 2000;
      const timing = { pollIntervalMs: 200, heartbeatIntervalMs: 250, orphanTimeoutMs: ORPHAN_MS };
      const TEN_MIN = 10 * 60_000;
      const procs = [
        { skew: 0, long: 'long-true' },
        { skew: TEN_MIN, long: 'long-ahead' },
        { skew: -TEN_MIN, long: 'long-behind' },
      ].map(({ skew, long }) => ({
        long,
        p: sc.spawn({ ...timing, role: 'worker', clockSkewMs: skew, queues: [{ name: 'delayed' }, { name: long, concurrency: 2 }] }),
      }));
      await Promise.all(procs.map(({ p }) => p.ready()));
      for (const { p } of procs) expect(Math.abs(p.readyEvent.clockSkewMs)).toBe(Math.abs(p === procs[0].p ? 0 : TEN_MIN));

      // Long jobs pinned to each process (one queue each): 2.5 x the orphan timeout. A rescuer
      // comparing heartbeats with its own Node clock would take them away early.
      const long: string[] = [];
      for (const { p, long: q } of procs) long.push(...(await p.request<string[]>({ cmd: 'push', queue: q, jobs: [1, 2].map(() => ({ name: 'work', data: { sleepMs: 2.5 * ORPHAN_MS } })) })));
      // Delayed jobs pushed from every process, skewed or not: none may run before its run_at.
      const delayed: string[] = [];
      for (const { p } of procs) delayed.push(...(await p.request<string[]>({ cmd: 'push', queue: 'delayed', jobs: [500, 1000, 1500].map((delayMs) => ({ name: 'work', data: null, options: { delayMs } })) })));

      await sc.waitAllDone(long.length + delayed.length, 30_000);
      const early = await pool.query(
        `SELECT l.job_id, l.started_at, j.run_at, j.created_at FROM ${sc.s}.ledger l JOIN ${sc.s}.jobs j ON j.id = l.job_id WHERE l.started_at < j.run_at`,
      );
      expect(early.rows).toEqual([]);
      // run_at was computed by the database from delayMs, not from a skewed Node clock.
      const offsets = await pool.query(`SELECT extract(epoch FROM run_at - created_at) * 1000 AS ms FROM ${sc.s}.jobs WHERE id = ANY($1) ORDER BY 1`, [delayed]);
      expect(offsets.rows.map((r) => Number(r.ms))).toEqual([500, 500, 500, 1000, 1000, 1000, 1500, 1500, 1500]);
      // No rescue: every long job ran once, in its own process, on its first attempt.
      const longRuns = await pool.query(`SELECT job_id, attempt, pid FROM ${sc.s}.ledger WHERE job_id = ANY($1)`, [long]);
      expect(longRuns.rows.length).toBe(long.length);
      for (const r of longRuns.rows) expect(r.attempt).toBe(1);
      const attempts = await pool.query(`SELECT max(attempts)::int AS n FROM ${sc.s}.jobs`);
      expect(attempts.rows[0].n).toBe(1);
      expect(procs.flatMap(({ p }) => p.output.filter((l) => /rescued|lease of worker/.test(l)))).toEqual([]);
      const l = await sc.ledger();
      expect(l.twice.size).toBe(0);
      expect(sc.fatals()).toEqual([]);
      report({ scenario: '11 skewed clocks', jobs: long.length + delayed.length, processes: 3, faults: 'Node clock +10 min and -10 min', lost: 0, twice: 0 });
    } finally {
      await sc.teardown();
    }
  }, 120_000);
});
