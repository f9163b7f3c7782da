/**
 * Issue 6, item 5: the Postgres server restarted mid-load. By default this test starts its own
 * embedded Postgres 17 (own temp folder and port, so the rest of the suite is not disturbed) and
 * restarts it on the same data folder. With RELIABILITY_RESTART_CMD set, it instead runs that
 * shell command to restart the server of DATABASE_URL (e.g. "docker restart pg").
 */
import { execSync } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';
import { databaseUrl } from '../helpers/db.js';
import { report, Scenario, scaled, timeoutFor, until } from './support/harness.js';

const RESTART_CMD = process.env.RELIABILITY_RESTART_CMD;

interface Server {
  url: string;
  /** Stops the server, awaits `whileDown` (the processes noticing the outage), starts it again. */
  restart(whileDown: () => Promise<unknown>): Promise<void>;
  dispose(): Promise<void>;
}

async function embeddedServer(): Promise<Server> {
  // stop() keeps the data folder (only dispose() removes it): the restart comes back to the same data.
  const pg = await startEmbeddedPostgres({
    prefix: 'nestjs-pg-queue-restart-',
    flags: ['max_connections=100', 'fsync=off', 'synchronous_commit=off'],
  });
  return {
    url: pg.url,
    // A fast shutdown (SIGINT: every session terminated, in-flight transactions rolled back), then a start on the same folder.
    async restart(whileDown) {
      await pg.server.stop();
      await whileDown();
      await pg.server.start();
    },
    dispose: () => pg.dispose(),
  };
}

function externalServer(cmd: string): Server {
  return {
    url: databaseUrl(),
    async restart() {
      execSync(cmd, { stdio: 'inherit', timeout: 120_000 });
    },
    async dispose() {},
  };
}

describe('reliability: server restart', () => {
  let server: Server;
  let pool: pg.Pool;
  let sc: Scenario | null = null;
  beforeAll(async () => {
    server = RESTART_CMD ? externalServer(RESTART_CMD) : await embeddedServer();
    pool = new pg.Pool({ connectionString: server.url, max: 3 });
    pool.on('error', () => undefined);
  }, 120_000);
  afterAll(async () => {
    await sc?.teardown();
    await pool?.end().catch(() => undefined);
    await server?.dispose();
  }, 60_000);

  const JOBS = scaled(3000);
  const CONCURRENCY = 10;
  it(
    `5. the Postgres server restarted mid-load (${JOBS} jobs${RESTART_CMD ? ', external server' : ', embedded server'}); pass: processes reconnect by themselves, nothing lost, duplicates bounded by the jobs in flight`,
    async () => {
      sc = new Scenario(server.url, pool, 'restart');
      await sc.setup();
      const worker = { role: 'worker' as const, queues: [{ name: 'load', concurrency: CONCURRENCY }], pollIntervalMs: 200, heartbeatIntervalMs: 250, orphanTimeoutMs: 2000 };
      const workers = [sc.spawn(worker), sc.spawn(worker)];
      const producer = sc.spawn({ role: 'producer', queues: [{ name: 'load' }] });
      await Promise.all([...workers, producer].map((p) => p.ready()));
      await Promise.all(workers.map((w) => w.waitEvent('LISTEN', (e) => e.type === 'reconnect')));

      const produced = producer.request<number>(
        { cmd: 'produce', queue: 'load', name: 'work', count: JOBS, batch: 20, ratePerSec: 600, data: { sleepMs: 10 } },
        timeoutFor(240_000),
      );
      await producer.waitEvent('40% pushed', (e) => e.type === 'progress' && e.pushed >= JOBS * 0.4, 120_000);
      // Jobs have run before the restart (established, not assumed).
      await until('jobs to have run before the restart', () => sc!.count('SELECT count(*) FROM $S.ledger'), 30_000);
      const restartStarted = Date.now();
      const lostBefore = workers.map((w) => w.output.filter((l) => l.includes('LISTEN connection lost')).length);
      // Down until every process has noticed: each worker lost its LISTEN connection, the producer saw a push fail.
      await server.restart(() =>
        Promise.all([
          ...workers.map((w, i) => until('the worker to see its LISTEN connection drop', () => w.output.filter((l) => l.includes('LISTEN connection lost')).length > lostBefore[i], 30_000)),
          until('the producer to see a push fail', () => producer.output.some((l) => l.includes('push failed')), 30_000),
        ]),
      );
      const restartMs = Date.now() - restartStarted;
      // The pool of this test lost its connections too; wait for the server to answer.
      const { rows: [{ at }] } = await until('the server to answer', () => pool.query('SELECT clock_timestamp() AS at'), 60_000, 100);
      const restartedAt = at as Date;

      // Every worker reconnects its LISTEN by itself (a new generation after the restart).
      await Promise.all(workers.map((w) => w.waitEvent('LISTEN after the restart', (e) => e.type === 'reconnect' && e.generation >= 2, 60_000)));
      expect(await produced).toBe(JOBS);
      await sc.waitAllDone(JOBS, timeoutFor(120_000));
      // Work after the restart was done by both processes, without any restart of theirs. One of
      // them may still have been in its claim-retry backoff while the other took the rest of the
      // load: then more work is pushed until it has run some (with a deadline).
      let total = JOBS;
      for (const w of workers) {
        total += (await sc.pushUntilRunBy(producer, 'load', w, restartedAt)).length;
        expect(w.alive).toBe(true);
        expect(await sc.count('SELECT count(*) FROM $S.ledger WHERE pid = $1 AND started_at > $2', [w.pid, restartedAt])).toBeGreaterThan(0);
      }
      await sc.waitAllDone(total, timeoutFor(60_000));

      const l = await sc.ledger();
      expect(await sc.lost()).toBe(0);
      expect(l.distinct).toBe(total);
      // A job may run twice only if it was in flight when the server went down: first run
      // before the restart, and no more of them than the slots of every worker together.
      for (const [id, runs] of l.twice) {
        expect(runs[0].started_at <= restartedAt, `job ${id} ran twice but started after the restart`).toBe(true);
      }
      expect(l.twice.size).toBeLessThanOrEqual(workers.length * CONCURRENCY);
      expect(sc.fatals()).toEqual([]);
      report({
        scenario: '5 server restart',
        jobs: JOBS,
        processes: 3,
        faults: RESTART_CMD ? `RELIABILITY_RESTART_CMD` : 'embedded Postgres stopped (fast) and started on the same data folder',
        lost: 0,
        twice: l.twice.size,
        extra: `restart took ${restartMs} ms`,
      });
    },
    timeoutFor(240_000),
  );
});
