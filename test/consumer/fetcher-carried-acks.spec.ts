import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Acker } from '../../src/consumer/acker.js';
import { Fetcher } from '../../src/consumer/fetcher.js';
import type { HandlerDefinition } from '../../src/consumer/handler-definition.js';
import { Worker } from '../../src/consumer/worker.js';
import { Migrator } from '../../src/db/migrator.js';
import { releaseJobsSql } from '../../src/db/sql/release-jobs.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { queueConfig } from '../helpers/queue-config.js';

/**
 * A real pool whose statements are recorded, and whose release statement (jobs handed back to
 * `pending`) is held until the test lets it go: the one interleaving this test needs, on a real
 * Postgres.
 */
class HoldingPool extends pg.Pool {
  readonly sent: string[] = [];
  held: { release: () => void } | null = null;
  holdReleases = false;
  /** The release statement's text (releaseJobsSql of the test's schema). */
  releaseSql = '';

  override query(...args: any[]): any {
    const text: string = typeof args[0] === 'string' ? args[0] : args[0].text;
    this.sent.push(text);
    if (this.holdReleases && text === this.releaseSql && !this.held) {
      const gate = deferred<void>();
      this.held = { release: gate.resolve };
      return gate.promise.then(() => (super.query as any)(...args));
    }
    return (super.query as any)(...args);
  }
}

const isClaim = (text: string) => /SET status = 'running'/.test(text);

/**
 * A claim that carried acks lands with more jobs of a concurrency-1 handler than it can start and
 * hands the rest back. Until that release lands those rows are still `running`, so no other claim
 * may take their slots. It did: the landed claim's acks were taken out of the acker's count once
 * more, and with concurrency 3 a second claim for 2 went out (5 rows running; seen as a rare
 * failure of concurrency.spec.ts under load).
 */
describe('Fetcher: a landed claim that hands overflow back keeps its slots until it has', () => {
  const scope = schemaScope('fca');
  afterAll(scope.dispose);

  it('claims nothing while the release is in flight, then refills the free slots', async () => {
    const schema = scope.fresh();
    const s = pg.escapeIdentifier(schema);
    const pool = new HoldingPool({ connectionString: databaseUrl(), max: 4 });
    pool.on('error', () => undefined);
    pool.releaseSql = releaseJobsSql(s);
    await new Migrator(pool, schema).migrate();
    await pool.query(`INSERT INTO ${s}.workers (worker_id, queue, lease_hash) VALUES ('w1', 'q', 'x')`);
    // Claim order is id order here: three 'free' jobs, three 'limited' ones, then two more 'free'.
    await pool.query(
      `INSERT INTO ${s}.jobs (id, queue, name, payload) SELECT '01J0000000000000000000000' || i, 'q', CASE WHEN i BETWEEN 4 AND 6 THEN 'limited' ELSE 'free' END, '{}'
       FROM generate_series(1, 8) AS i`,
    );
    const gates: Array<() => void> = [];
    const handler = (name: string, concurrency?: number): HandlerDefinition => ({
      queue: 'q',
      name,
      label: name,
      concurrency,
      callback: () => {
        const gate = deferred<void>();
        gates.push(gate.resolve);
        return gate.promise;
      },
    });
    let fetcher!: Fetcher;
    const acker = new Acker(pool, s, () => undefined, () => fetcher.slotFreed());
    const worker = new Worker(
      queueConfig({ name: 'q', concurrency: 3, pollIntervalMs: 60_000, prefetch: 0, directStart: false, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 10 } }),
      new Map([
        ['limited', handler('limited', 1)],
        ['free', handler('free')],
      ]),
      (ack) => acker.add(ack),
      () => fetcher.slotFreed(),
    );
    fetcher = new Fetcher({ pool, schemaSql: s, schema, queue: 'q', pollIntervalMs: 60_000, worker, workerId: () => 'w1', leaseMs: 30_000, acker, statementName: () => undefined });
    const running = async () => (await scope.pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE status = 'running'`)).rows[0].n as number;
    try {
      fetcher.start();
      await waitFor('the three free jobs started', () => worker.size === 3 && gates.length === 3);
      pool.holdReleases = true;
      // The three finish together; their acks ride in the next claim, which brings the three 'limited' jobs.
      for (const open of gates.splice(0)) open();
      await waitFor('l2 and l3 handed back (held)', () => pool.held !== null);
      expect(pool.sent.some((t) => t.startsWith('WITH acked')), 'precondition: the acks rode in the claim').toBe(true);
      expect(worker.size).toBe(1); // l1; its handler has no room for l2 and l3
      // l1, l2 and l3 are running rows: the queue's concurrency. No claim may go out until the
      // release has landed, neither with the ack-and-claim's landing nor on a wake (a NOTIFY, a poll).
      const claimsSince = () => pool.sent.slice(pool.sent.findIndex((t) => t.startsWith('WITH acked')) + 1).filter(isClaim).length;
      fetcher.wake();
      fetcher.slotFreed();
      // A claim is sent (recorded above) within a turn of the wake, or after slotFreed's setImmediate.
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      expect(claimsSince()).toBe(0);
      expect(await running()).toBe(3);

      pool.held!.release();
      // Then the two free slots are refilled, with the free job only ('limited' is at its cap).
      await waitFor('the two free jobs started in the two free slots', () => worker.size === 3);
      expect(await running()).toBe(3); // l1 and them: l2 and l3 went back to pending
      expect(claimsSince()).toBe(1);
    } finally {
      pool.holdReleases = false;
      pool.held?.release();
      for (const open of gates.splice(0)) open();
      await fetcher.stop();
      await acker.stop(1000);
      await pool.end();
    }
  });
});
