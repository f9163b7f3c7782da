/**
 * Issue 6, item 8: misbehaving handlers in a real worker process: one that never settles
 * (timeoutMs 300), one that throws a string, one that throws undefined, one that returns a value
 * that is not JSON (a BigInt), one that blocks the event loop for 2 s.
 * Pass: each attempt is recorded (ledger) and ends with a clear last_error, the worker goes on
 * with other jobs, and a 2 s block does not get the live worker's jobs rescued by another process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, testPool } from '../helpers/db.js';
import { report, Scenario, until, type FixtureProcess } from './support/harness.js';

const pool = testPool(3);
const ORPHAN_MS = 3000;

describe('reliability: misbehaving handlers', () => {
  let sc: Scenario;
  let subject: FixtureProcess;
  let rescuer: FixtureProcess;
  beforeAll(async () => {
    sc = new Scenario(databaseUrl(), pool, 'misbehave');
    await sc.setup();
    const timing = { pollIntervalMs: 200, heartbeatIntervalMs: 250, orphanTimeoutMs: ORPHAN_MS };
    subject = sc.spawn({ ...timing, role: 'worker', misbehaving: true, queues: [{ name: 'm', concurrency: 10 }] });
    // Another live process whose rescuer would take the subject's jobs if its heartbeat looked stale.
    rescuer = sc.spawn({ ...timing, role: 'worker', queues: [{ name: 'other' }] });
    await Promise.all([subject.ready(), rescuer.ready()]);
  }, 120_000);
  afterAll(async () => {
    await sc?.teardown();
  });

  const push = (name: string, data: unknown = null) => subject.request<string[]>({ cmd: 'push', queue: 'm', jobs: [{ name, data }] }).then((ids) => ids[0]);
  const job = async (id: string) => (await pool.query(`SELECT status, attempts, last_error, result FROM ${sc.s}.jobs WHERE id = $1`, [id])).rows[0];
  const runs = async (id: string) => (await pool.query(`SELECT attempt, pid FROM ${sc.s}.ledger WHERE job_id = $1 ORDER BY seq`, [id])).rows;

  it('8a. never settles / throws a string / throws undefined / returns a BigInt; pass: both attempts recorded, killed with a clear last_error, the worker goes on', async () => {
    const cases: Array<[string, RegExp]> = [
      ['never', /JobTimeoutError: Handler exceeded timeoutMs \(300 ms\)/],
      ['throwString', /^Non-Error thrown: "a plain string, not an Error"$/],
      ['throwUndefined', /^Non-Error thrown: undefined$/],
      ['badResult', /ResultNotSerializableError: Handler result is not JSON-serialisable/],
    ];
    const ids = await Promise.all(cases.map(([name]) => push(name)));
    for (const [i, [name, expected]] of cases.entries()) {
      const row = await until(`${name} to end killed`, async () => {
        const r = await job(ids[i]);
        return r.status === 'killed' ? r : null;
      }, 20_000);
      expect(row.attempts, name).toBe(2);
      expect(row.last_error, name).toMatch(expected);
      expect(await runs(ids[i]), name).toEqual([{ attempt: 1, pid: subject.pid }, { attempt: 2, pid: subject.pid }]);
    }
    // It goes on with other jobs (the never-settling handler's slots were freed by its timeout).
    const more = await subject.request<string[]>({ cmd: 'push', queue: 'm', jobs: Array.from({ length: 30 }, () => ({ name: 'work', data: null })) });
    await until('the following jobs to be done', async () => (await sc.count(`SELECT count(*) FROM $S.jobs WHERE id = ANY($1) AND status = 'done'`, [more])) === more.length, 20_000);
    expect(sc.fatals()).toEqual([]);
    expect(subject.alive).toBe(true);
  });

  it(`8b. a handler blocks the event loop for 2 s while others run (orphanTimeoutMs ${ORPHAN_MS}); pass: no job of the live worker is rescued, each runs once`, async () => {
    const workerIdBefore = await subject.whoami();
    // Jobs that run across the whole block, so they are old enough to be rescued if the heartbeat looked stale.
    const long = await subject.request<string[]>({ cmd: 'push', queue: 'm', jobs: Array.from({ length: 3 }, () => ({ name: 'work', data: { sleepMs: 4000 } })) });
    await until('the long jobs to start', async () => (await sc.count('SELECT count(*) FROM $S.ledger WHERE job_id = ANY($1)', [long])) === 3, 10_000);
    const blocker = await push('block', { ms: 2000 });
    const rows = await until('the block and the long jobs to be done', async () => {
      const r = await pool.query(`SELECT id, status, attempts, last_error, result FROM ${sc.s}.jobs WHERE id = ANY($1)`, [[...long, blocker]]);
      return r.rows.every((x) => x.status === 'done') ? r.rows : null;
    }, 30_000);
    for (const r of rows) {
      expect(r.attempts).toBe(1);
      expect(r.last_error).toBeNull();
    }
    expect(rows.find((r) => r.id === blocker).result).toEqual({ blockedMs: 2000 });
    for (const id of [...long, blocker]) expect(await runs(id)).toEqual([{ attempt: 1, pid: subject.pid }]);
    // The lease was never lost and nobody rescued anything.
    expect(await subject.whoami()).toBe(workerIdBefore);
    expect([...subject.output, ...rescuer.output].filter((l) => /rescued|lease of worker/.test(l))).toEqual([]);
    expect(sc.fatals()).toEqual([]);
    const l = await sc.ledger();
    report({ scenario: '8 misbehaving handlers', jobs: await sc.count('SELECT count(*) FROM $S.jobs'), processes: 2, faults: 'never settles, throws string/undefined, BigInt result, 2 s event-loop block', lost: 0, twice: l.twice.size - 4 });
  });
});
