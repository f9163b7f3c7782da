/**
 * Issue 6, item 9: pool pressure. The application's own TypeORM pool is exhausted by long
 * transactions while jobs run, then a burst of 10,000 single pushes (x RELIABILITY_SCALE) arrives
 * while the workers run.
 * Pass: the queue keeps processing on its own pool, and the connections it opens never exceed
 * its pool size plus the one LISTEN connection (sampled from pg_stat_activity all along).
 */
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { DataSource, type QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueModule, QueueOrchestrator, type Job, type QueueSink } from '../../src/index.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { report, scaled, timeoutFor, until } from './support/harness.js';

/** Runs per job id (this test runs in one process, so the ledger is in memory). */
const handled = new Map<string, number>();

@Processor('pressure')
@Injectable()
class PressureProcessor {
  @Process('work')
  work(job: Job) {
    handled.set(job.id, (handled.get(job.id) ?? 0) + 1);
  }
}

describe('reliability: pool pressure', () => {
  const schema = uniqueSchema('rel_pressure');
  const appName = `rel-pressure-${randomBytes(4).toString('hex')}`;
  const QUEUE_POOL_MAX = 4;
  const pool = testPool(3);
  let app: INestApplication;
  let held: QueryRunner[] = [];
  let samples: number[] = [];
  let sampling = true;
  let sampler: Promise<void>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ type: 'postgres', url: databaseUrl(), entities: [], extra: { max: 2, application_name: `${appName}-typeorm` } }),
        QueueModule.forRoot({
          connection: { connectionString: databaseUrl(), max: QUEUE_POOL_MAX, application_name: `${appName}-queue` },
          schema,
          queues: [{ name: 'pressure', concurrency: 20 }],
          pollIntervalMs: 200,
          heartbeatIntervalMs: 250,
          orphanTimeoutMs: 2000,
        }),
      ],
      providers: [PressureProcessor],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    // Sample the queue's connections (pool + LISTEN share its application_name) every 20 ms.
    sampler = (async () => {
      while (sampling) {
        const r = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [`${appName}-queue`]);
        samples.push(r.rows[0].n);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
  });
  afterAll(async () => {
    sampling = false;
    await sampler;
    for (const qr of held) await qr.rollbackTransaction().then(() => qr.release()).catch(() => undefined);
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const BURST = scaled(10_000);
  it(
    `9. TypeORM pool exhausted by long transactions, then a burst of ${BURST} single pushes; pass: jobs keep running on the queue's pool, its connections never exceed max (${QUEUE_POOL_MAX}) + 1 LISTEN`,
    async () => {
      const dataSource = app.get(DataSource);
      // Exhaust the application's pool (max 2) with two open transactions.
      for (let i = 0; i < 2; i++) {
        const qr = dataSource.createQueryRunner();
        await qr.connect();
        await qr.startTransaction();
        // No xid is taken: the sessions are held without holding back vacuum for the whole
        // cluster (which would slow every other test's claims on bloated indexes).
        await qr.query('SELECT 1');
        held.push(qr);
      }
      let appQueryDone = false;
      const starved = dataSource.query('SELECT 1').then(() => (appQueryDone = true));

      const sink = app.get<QueueSink>(getSinkToken('pressure'));
      const workerId = app.get(QueueOrchestrator).workerId;
      // Jobs run while the application's pool is exhausted.
      const first = await sink.pushMany(Array.from({ length: 200 }, () => ({ name: 'work', data: null })));
      await until('jobs to run while the TypeORM pool is exhausted', () => first.every((id) => handled.has(id)), 20_000);
      expect(appQueryDone).toBe(false); // the application's own query is still waiting for a connection

      // A burst of single pushes while the workers run.
      const started = Date.now();
      const pushes: Array<Promise<string>> = [];
      for (let i = 0; i < BURST; i++) {
        pushes.push(sink.push('work', { i }));
        // All in flight at once, issued 10,000 per event-loop turn: one synchronous loop of
        // 100,000 calls (the soak's scale) would itself block timers for over orphanTimeoutMs.
        if (i % 10_000 === 9_999) await new Promise((r) => setImmediate(r));
      }
      const ids = await Promise.all(pushes);
      const pushMs = Date.now() - started;
      await until('every burst job to run', () => ids.every((id) => handled.has(id)), timeoutFor(120_000), 100);
      const done = (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE status = 'done'`)).rows[0].n;
      await until('the last acks to land', async () => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE status <> 'done'`)).rows[0].n === 0, 20_000);
      expect(done).toBeGreaterThan(0);
      expect(appQueryDone).toBe(false);

      const twice = [...handled.values()].filter((n) => n > 1).length;
      expect(twice).toBe(0);
      // Pushes never hold every pool connection (PushLimiter): the heartbeat kept the lease through the burst.
      expect(app.get(QueueOrchestrator).workerId).toBe(workerId);
      expect(handled.size).toBe(BURST + 200);
      // Grouped pushes (PushGroups) can finish the burst within a few sampler ticks: let the sampler
      // take its samples (one every 20 ms) before it stops, rather than count on the burst lasting.
      await until('the sampler to take more than 20 samples', () => samples.length > 20, 10_000);
      sampling = false;
      await sampler;
      const max = Math.max(...samples);
      expect(samples.length).toBeGreaterThan(20);
      expect(max).toBeLessThanOrEqual(QUEUE_POOL_MAX + 1);
      expect(max).toBeGreaterThanOrEqual(2); // the sampler did see the queue at work

      for (const qr of held) {
        await qr.rollbackTransaction();
        await qr.release();
      }
      held = [];
      await starved;
      report({ scenario: '9 pool pressure', jobs: BURST + 200, processes: 1, faults: 'TypeORM pool (max 2) held by 2 open transactions; burst of single pushes', lost: 0, twice: 0, extra: `max queue connections ${max} (pool max ${QUEUE_POOL_MAX} + LISTEN), ${samples.length} samples, burst pushed in ${pushMs} ms` });
    },
    timeoutFor(180_000),
  );
});
