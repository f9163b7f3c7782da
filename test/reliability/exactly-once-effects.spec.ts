/**
 * Issue 19, item 3: exactly-once database effects. Two worker processes run `charge`, a
 * `{ transaction: true }` handler that writes one business row per run (no unique key to hide a
 * duplicate), while a producer pushes under load. One worker is SIGKILLed, or SIGSTOPped past its
 * lease and resumed, at a moment when it holds open handler transactions (established from
 * pg_stat_activity while it is frozen, not assumed).
 * Pass: every job done; per job exactly one business row, written by the attempt that completed it;
 * and the ledger (written outside the transaction) shows the handlers did run twice for the jobs
 * caught mid-transaction: at-least-once runs, exactly-once effects.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { databaseUrl, testPool } from '../helpers/db.js';
import { report, Scenario, scaled, timeoutFor, until, type FixtureProcess } from './support/harness.js';

const pool = testPool(3);
const ORPHAN_MS = 2000;
const timing = { pollIntervalMs: 200, heartbeatIntervalMs: 250, orphanTimeoutMs: ORPHAN_MS, transactional: true };

describe('reliability: exactly-once handler effects', () => {
  let sc: Scenario | null = null;
  afterEach(async () => {
    await sc?.teardown();
    sc = null;
  });

  async function start(prefix: string) {
    sc = new Scenario(databaseUrl(), pool, prefix);
    await sc.setup();
    await pool.query(`CREATE TABLE ${sc.s}.effects (job_id text COLLATE "C" NOT NULL, attempt int NOT NULL, pid int NOT NULL)`);
    await pool.query(`CREATE INDEX ON ${sc.s}.effects (job_id)`);
    const victim = sc.spawn({ ...timing, role: 'worker', queues: [{ name: 'pay', concurrency: 8 }] });
    const other = sc.spawn({ ...timing, role: 'worker', queues: [{ name: 'pay', concurrency: 8 }] });
    const producer = sc.spawn({ ...timing, role: 'producer', queues: [{ name: 'pay' }] });
    await Promise.all([victim.ready(), other.ready(), producer.ready()]);
    return { victim, other, producer };
  }

  /** Freezes `victim` at a moment when some of its handler transactions are open with their write done. */
  async function freezeMidTransaction(victim: FixtureProcess): Promise<string[]> {
    const workerId = await victim.whoami();
    let open: string[] = [];
    await sc!.stopWhen(victim, 'the victim to be frozen inside handler transactions', async () => {
      // Jobs its handlers are running (their ledger row, written outside the transaction, is in),
      // whose business row nobody can see: written in an open transaction, or not yet.
      const r = await pool.query(
        `SELECT j.id FROM ${sc!.s}.jobs j WHERE j.status = 'running' AND j.locked_by = $1
           AND EXISTS (SELECT 1 FROM ${sc!.s}.ledger l WHERE l.job_id = j.id AND l.pid = $2)
           AND NOT EXISTS (SELECT 1 FROM ${sc!.s}.effects e WHERE e.job_id = j.id)`,
        [workerId, victim.pid],
      );
      const idle = await sc!.count(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'`, [`${victim.tag}-queue`]);
      open = r.rows.map((x) => x.id);
      return open.length > 0 && idle > 0;
    });
    return open;
  }

  async function verdict(total: number, caught: string[], scenario: string, faults: string) {
    const all = await sc!.count('SELECT count(*) FROM $S.jobs');
    await sc!.waitAllDone(all, timeoutFor(90_000), 'every job done');
    expect(await sc!.count(`SELECT count(*) FROM $S.jobs WHERE name = 'charge'`)).toBe(total);
    const duplicated = await sc!.count(`SELECT count(*) FROM (SELECT job_id FROM $S.effects GROUP BY job_id HAVING count(*) > 1) d`);
    const lost = await sc!.count(`SELECT count(*) FROM $S.jobs j WHERE j.name = 'charge' AND NOT EXISTS (SELECT 1 FROM $S.effects e WHERE e.job_id = j.id)`);
    const wrongAttempt = await sc!.count(`SELECT count(*) FROM $S.jobs j JOIN $S.effects e ON e.job_id = j.id WHERE e.attempt <> j.attempts`);
    const ledger = await sc!.ledger();
    const rerunCaught = caught.filter((id) => (ledger.twice.get(id)?.length ?? 0) >= 2).length;
    report({ scenario, jobs: total, processes: 3, faults, lost, twice: duplicated, extra: `handler runs twice: ${ledger.twice.size}, caught mid-transaction: ${caught.length}` });
    expect(sc!.fatals()).toEqual([]);
    expect(duplicated).toBe(0);
    expect(lost).toBe(0);
    expect(wrongAttempt).toBe(0);
    expect(await sc!.count('SELECT count(*) FROM $S.effects')).toBe(total);
    // The fault hit handlers mid-transaction: those ran again elsewhere, and only that run's write stands.
    expect(rerunCaught).toBe(caught.length);
  }

  it(`SIGKILL a worker holding open handler transactions under load; pass: 0 duplicated and 0 lost business rows`, { timeout: timeoutFor(150_000) }, async () => {
    const { victim, producer } = await start('xkill');
    const total = scaled(2000);
    const produced = producer.request<number>({ cmd: 'produce', queue: 'pay', name: 'charge', count: total, batch: 50, ratePerSec: 800, data: { sleepMs: 15 } });
    await until('the victim to run charges', () => sc!.count('SELECT count(*) FROM $S.ledger WHERE pid = $1', [victim.pid]), 30_000);
    const caught = await freezeMidTransaction(victim);
    victim.kill('SIGKILL');
    await victim.exited;
    expect(await produced).toBe(total);
    await verdict(total, caught, 'exactly-once effects: SIGKILL mid-transaction', 'SIGKILL x1');
  });

  it(`SIGSTOP a worker inside handler transactions past its lease, SIGCONT once its jobs were completed elsewhere; pass: its late commits are refused, 0 duplicated, 0 lost`, { timeout: timeoutFor(150_000) }, async () => {
    const { victim, producer } = await start('xstop');
    const total = scaled(2000);
    const produced = producer.request<number>({ cmd: 'produce', queue: 'pay', name: 'charge', count: total, batch: 50, ratePerSec: 800, data: { sleepMs: 15 } });
    await until('the victim to run charges', () => sc!.count('SELECT count(*) FROM $S.ledger WHERE pid = $1', [victim.pid]), 30_000);
    const caught = await freezeMidTransaction(victim);
    const stoppedAt = Date.now();
    // Rescued and completed elsewhere while it is frozen.
    await until(
      'the caught jobs to be completed by the other worker',
      async () => (await sc!.count(`SELECT count(*) FROM $S.jobs WHERE id = ANY($1) AND status = 'done'`, [caught])) === caught.length,
      timeoutFor(30_000),
      50,
    );
    // Resumed at once: its sessions usually still hold their transactions (the server ends them
    // only after 2 x orphanTimeoutMs idle). Each late outcome is refused by the fence (a stale
    // ack), unless the worker saw its lease expired first and dropped those attempts unacked.
    const workerId = victim.readyEvent.workerId!;
    victim.kill('SIGCONT');
    for (const id of caught) {
      await until(
        `the victim to report its late outcome of ${id} refused`,
        () => victim.output.some((l) => l.includes(`stale ack ignored: job ${id}`) || l.includes(`lease of worker ${workerId} expired`)),
        timeoutFor(20_000),
        50,
      );
    }
    expect(await produced).toBe(total);
    // It resumes and works on (a run of its own started after the freeze).
    await sc!.pushUntilRunBy(producer, 'pay', victim, new Date(stoppedAt), { data: { sleepMs: 5 } });
    await verdict(total, caught, 'exactly-once effects: SIGSTOP past the lease, SIGCONT', 'SIGSTOP x1');
  });
});
