/**
 * Issue 15: Postgres stopped for a few seconds under load. Pass: every push that cannot reach the
 * database rejects with DatabaseUnavailableError carrying pg's error, and one that says nothing
 * was written wrote nothing; while it is down each component warns once, then one summary comes
 * per outageLogIntervalMs; one "reconnected after N s" line when it is back; then work goes on.
 * Runs on an embedded Postgres of its own (stopped and started on the same data folder).
 */
import { Injectable, type INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';
import { Cron, DatabaseUnavailableError, Process, Processor, QueueAdmin, type Job } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { CapturingLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';

@Processor('load')
@Injectable()
class LoadProcessor {
  @Process('work')
  async work(_job: Job) {
    await new Promise((r) => setTimeout(r, 2));
  }
}

@Processor('steady')
@Injectable()
class SteadyProcessor {
  @Cron('* * * * * *')
  @Process('work')
  work() {}
}

type Outcome = { id: string } | { err: unknown };

describe('reliability: messages during a database outage', () => {
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
  let app: INestApplication | null = null;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await startEmbeddedPostgres({ prefix: 'nestjs-pg-queue-outage-', flags: ['fsync=off', 'synchronous_commit=off'] });
    pool = new pg.Pool({ connectionString: server.url, max: 2 });
    pool.on('error', () => undefined);
  }, 120_000);
  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await server?.dispose();
  }, 60_000);

  it('pushes reject with DatabaseUnavailableError; one warning per component, summaries, one reconnected line; nothing half-written', async () => {
    const logger = new CapturingLogger();
    const schema = 'outage';
    app = await createQueueApp(
      {
        schema,
        connection: { connectionString: server.url, max: 6 },
        queues: [{ name: 'load', concurrency: 4 }],
        pollIntervalMs: 100,
        heartbeatIntervalMs: 200,
        orphanTimeoutMs: 10_000,
        outageLogIntervalMs: 1000,
      },
      [LoadProcessor],
      [],
      logger,
    );
    const sink = sinkOf(app, 'load');
    const admin = app.get(QueueAdmin);
    const outcomes: Outcome[] = [];
    let pushing = true;
    const producer = (async () => {
      for (let n = 0; pushing; n++) {
        outcomes.push(await sink.push('work', { n }).then((id) => ({ id }), (err: unknown) => ({ err })));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const failures = () => outcomes.filter((o): o is { err: unknown } => 'err' in o);
    try {
      await waitFor('jobs done before the outage', async () => (await admin.stats()).load.done >= 20, 30_000);
      const linesBefore = logger.lines.length;
      await server.server.stop();
      const stoppedAt = Date.now();
      // Down until every component has noticed and two summaries have come.
      await waitFor('pushes to fail', () => failures().length >= 5, 30_000);
      const during = () => logger.lines.slice(linesBefore);
      const summaries = () => during().filter((l) => l.startsWith('[QueueOutage] database still unavailable after'));
      await waitFor('two summaries', () => summaries().length >= 2, 30_000);
      const first = (prefix: string) => during().filter((l) => l.startsWith(prefix));
      await waitFor('the claims, heartbeat and LISTEN warnings', () =>
        ['[QueueOutage] claims of queue "load": database unavailable', '[QueueOutage] heartbeat: database unavailable', '[QueueOutage] LISTEN connection lost'].every(
          (p) => first(p).length > 0,
        ),
      );
      await server.server.start();
      await waitFor('the reconnected line', () => during().some((l) => l.startsWith('[QueueOutage] database reconnected after')), 60_000);
      const downMs = Date.now() - stoppedAt;
      // Pushes work again.
      const okAfter = outcomes.length;
      await waitFor('pushes to succeed again', () => outcomes.slice(okAfter).some((o) => 'id' in o), 30_000);
      pushing = false;
      await producer;

      if (process.env.OUTAGE_DUMP) (await import('node:fs')).writeFileSync(process.env.OUTAGE_DUMP, during().join('\n'));
      // Each component warned once for the whole outage; no per-retry line from any of them.
      for (const prefix of [
        '[QueueOutage] claims of queue "load": database unavailable (claim failed (',
        '[QueueOutage] heartbeat: database unavailable (heartbeat failed: ',
        '[QueueOutage] LISTEN connection lost (',
        '[QueueOutage] pushes to queue "load": database unavailable (',
      ]) {
        expect(first(prefix), prefix).toHaveLength(1);
      }
      expect(during().filter((l) => /\] (claim failed|heartbeat failed|ack of \d+ job\(s\) failed|rescue failed)/.test(l))).toEqual([]);
      expect(first('[QueueOutage] database reconnected after')).toHaveLength(1);
      const reconnected = first('[QueueOutage] database reconnected after')[0];
      expect(reconnected).toMatch(/^\[QueueOutage\] database reconnected after \d+\.\d s \(host [^,]+, port \d+, database "[^"]+", user "[^"]+"\): \d+ failed call\(s\) during the outage$/);
      expect(Number(/after (\d+\.\d) s/.exec(reconnected)![1]) * 1000).toBeLessThanOrEqual(downMs + 1000);
      for (const s of summaries()) {
        expect(s).toMatch(/^\[QueueOutage\] database still unavailable after \d+\.\d s \(host .+\): failed calls in the last 1\.0 s: .+; last error: .+$/);
      }

      // Every failed push is the typed error, with pg's error as its cause and the job ids.
      const errs = failures().map((f) => f.err as DatabaseUnavailableError);
      for (const e of errs) {
        expect(e).toBeInstanceOf(DatabaseUnavailableError);
        expect(e.cause).toBeDefined();
        expect(e.jobIds).toHaveLength(1);
        expect(e.message).toMatch(/^The queue's database is unavailable \(host .+, schema "outage"\): .+; (nothing was written|the insert may have committed before the connection broke: push again)/);
      }
      // "Nothing was written" holds: none of those ids is in the table. Every resolved push is.
      const notWritten = errs.filter((e) => e.message.includes('nothing was written')).flatMap((e) => e.jobIds);
      expect(notWritten.length).toBeGreaterThan(0);
      const { rows: present } = await pool.query(`SELECT id FROM ${schema}.jobs WHERE id = ANY($1)`, [notWritten]);
      expect(present).toEqual([]);
      const resolved = outcomes.filter((o): o is { id: string } => 'id' in o).map((o) => o.id);
      const { rows: stored } = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE id = ANY($1)`, [resolved]);
      expect(stored[0].n).toBe(resolved.length);
      // And they all run.
      await waitFor('every stored job done', async () => {
        const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE status <> 'done'`);
        return rows[0].n === 0;
      }, 60_000);
    } finally {
      pushing = false;
      await producer;
    }
  }, 180_000);

  it('a minute down logs a bounded number of lines, each with its component as context, not one per poll per queue', async () => {
    await app?.close();
    app = null;
    const logger = new CapturingLogger();
    const queues = ['steady', 'q2', 'q3', 'q4'];
    const local = await createQueueApp(
      {
        schema: 'outage_minute',
        connection: { connectionString: server.url, max: 6 },
        queues: queues.map((name) => ({ name })),
        // Four queues polling every 50 ms, a heartbeat every 200 ms, a cron every second: a line
        // per failed call would be thousands.
        pollIntervalMs: 50,
        heartbeatIntervalMs: 200,
        orphanTimeoutMs: 10_000,
        pruneIntervalMs: 1000,
      },
      [SteadyProcessor],
      [],
      logger,
    );
    try {
      const sink = sinkOf(local, 'steady');
      await sink.push('work', {});
      const linesBefore = logger.lines.length;
      await server.server.stop();
      const stoppedAt = Date.now();
      const pushes: Promise<unknown>[] = [];
      // Down for a minute, with pushes every 100 ms.
      while (Date.now() - stoppedAt < 60_000) {
        pushes.push(sink.push('work', {}).catch(() => undefined));
        await new Promise((r) => setTimeout(r, 100));
      }
      await server.server.start();
      const during = () => logger.lines.slice(linesBefore);
      await waitFor('the reconnected line', () => during().some((l) => l.startsWith('[QueueOutage] database reconnected after')), 60_000);
      await Promise.all(pushes);
      // Settle: whatever the components log as they resume comes now.
      await waitFor('a push after the outage', () => sink.push('work', {}), 30_000);
      const lines = during();
      if (process.env.OUTAGE_DUMP) (await import('node:fs')).writeFileSync(process.env.OUTAGE_DUMP, lines.join('\n'));

      // Every line names its component (a Nest Logger context).
      expect(lines.filter((l) => !/^\[[A-Za-z][\w:.-]*\] /.test(l))).toEqual([]);
      const reconnected = lines.find((l) => l.startsWith('[QueueOutage] database reconnected after'))!;
      const failedCalls = Number(/: (\d+) failed call\(s\) during the outage$/.exec(reconnected)![1]);
      // The calls that failed: at least the pushes (600) and the heartbeat's retries.
      expect(failedCalls).toBeGreaterThan(600);
      // One warning per component (4 queues' claims, pushes, heartbeat, LISTEN, acks, rescue and the
      // rest), a summary every 30 s, one reconnected line: 12 in the run that set this bound, whatever the poll rate.
      expect(lines.length, lines.join('\n')).toBeLessThanOrEqual(20);
      expect(lines.filter((l) => l.startsWith('[QueueOutage] database still unavailable after')).length).toBeLessThanOrEqual(2);
    } finally {
      await local.close();
    }
  }, 180_000);
});
