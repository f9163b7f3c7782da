import { Injectable } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, type Job, type QueueSink } from '../../src/index.js';
import { ClaimFloor, type FloorKey } from '../../src/consumer/claim-floor.js';
import { ClaimStatements, type ClaimParams } from '../../src/consumer/claim-statements.js';
import { WakeTimers } from '../../src/consumer/wake-timers.js';
import { quoteIdent } from '../../src/db/identifier.js';
import { Migrator } from '../../src/db/migrator.js';
import type { ClaimedRow } from '../../src/db/sql/claim-jobs.js';
import { createQueueApp } from '../helpers/app.js';
import { recordingPool, schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';


const row = (id: string, priority: number, runAt: number): ClaimedRow => ({
  id,
  name: 'job',
  payload: {},
  attempts: 1,
  max_attempts: null,
  priority,
  run_at: runAt,
  created_at: runAt,
  metadata: {},
  idempotency_key: null,
});

describe('claim floor: where the next claim starts (ClaimFloor)', () => {
  it('is set by a full claim that came back full, at the last row in claim order (priority DESC, run_at, id)', () => {
    const floor = new ClaimFloor();
    floor.landed(floor.begin(), [row('b', 5, 10), row('a', 1, 30), row('c', 1, 30), row('d', 1, 20)], true);
    expect(floor.begin().key).toEqual({ priority: 1, runAtMs: 30, id: 'c' });
  });

  it('is not set by a short claim, and a short or empty claim clears it', () => {
    const floor = new ClaimFloor();
    floor.landed(floor.begin(), [row('a', 0, 1)], false);
    expect(floor.begin().key).toBeNull();
    floor.landed(floor.begin(), [row('a', 0, 1)], true);
    expect(floor.begin().key).not.toBeNull();
    floor.landed(floor.begin(), [row('b', 0, 2)], false);
    expect(floor.begin().key).toBeNull();
    floor.landed(floor.begin(), [row('c', 0, 3)], true);
    floor.landed(floor.begin(), [], true);
    expect(floor.begin().key).toBeNull();
  });

  it('a claim for some of the names only (the others had no room) leaves the floor as it is, set or not, full or short', () => {
    const floor = new ClaimFloor();
    floor.landed(floor.begin(), [row('a', 0, 1)], true, false);
    expect(floor.begin().key).toBeNull();
    floor.landed(floor.begin(), [row('a', 0, 1)], true);
    floor.landed(floor.begin(), [row('b', 0, 5)], true, false);
    expect(floor.begin().key).toEqual({ priority: 0, runAtMs: 1, id: 'a' });
    floor.landed(floor.begin(), [], false, false);
    expect(floor.begin().key).toEqual({ priority: 0, runAtMs: 1, id: 'a' });
  });

  it('moves with each full claim from it', () => {
    const floor = new ClaimFloor();
    floor.landed(floor.begin(), [row('a', 0, 1)], true);
    floor.landed(floor.begin(), [row('b', 0, 2)], true);
    expect(floor.begin().key).toEqual({ priority: 0, runAtMs: 2, id: 'b' });
  });

  it('a claim in flight across a clear (a NOTIFY of a job it may not have seen) sets no floor, from the start or from a floor', () => {
    const floor = new ClaimFloor();
    const full = floor.begin();
    floor.clear();
    floor.landed(full, [row('a', 0, 1)], true);
    expect(floor.begin().key).toBeNull();
    floor.landed(floor.begin(), [row('a', 0, 1)], true);
    const fromFloor = floor.begin();
    expect(fromFloor.key).not.toBeNull();
    floor.clear();
    floor.landed(fromFloor, [row('b', 0, 2)], true);
    expect(floor.begin().key).toBeNull();
  });
});

describe('claim floor: NOTIFYs of pushed jobs (ClaimFloor.notified)', () => {
  const set = (): ClaimFloor => {
    const floor = new ClaimFloor();
    floor.landed(floor.begin(), [row('m', 1, 100)], true);
    return floor;
  };

  it('keeps the floor for jobs that sort after it, clears it for one that may sort before it or a NOTIFY that does not say', () => {
    const floor = set();
    floor.notified(1, 101); // same priority, a later millisecond
    floor.notified(0, 50); // a lower priority: after the floor, whatever its time
    expect(floor.begin().key).toEqual({ priority: 1, runAtMs: 100, id: 'm' });
    floor.notified(1, 100); // the floor's own millisecond: not known to be after it
    expect(floor.begin().key).toBeNull();
    const second = set();
    second.notified(2, 500); // a higher priority
    expect(second.begin().key).toBeNull();
    const third = set();
    third.notified(undefined, undefined); // a hand-back, a rescue, an operator's verb, an older trigger
    expect(third.begin().key).toBeNull();
  });

  it('a claim in flight while jobs were notified moves the floor only past rows that sort before them', () => {
    const floor = set();
    const first = floor.begin();
    floor.notified(1, 150); // after the floor (100), but before the claim's last row (200)
    floor.landed(first, [row('n', 1, 120), row('o', 1, 200)], true);
    expect(floor.begin().key).toEqual({ priority: 1, runAtMs: 100, id: 'm' });
    const second = floor.begin();
    floor.notified(1, 300); // after the claim's last row too
    floor.landed(second, [row('p', 1, 250)], true);
    expect(floor.begin().key).toEqual({ priority: 1, runAtMs: 250, id: 'p' });
  });
});

describe('claim floor: which wakes clear it (WakeTimers)', () => {
  it('the poll tick and a due timer wake (the fetcher clears its floor); slots freed refill (it keeps it)', async () => {
    let wakes = 0;
    let refills = 0;
    const timers = new WakeTimers(
      20,
      () => wakes++,
      () => refills++,
    );
    timers.start();
    try {
      await waitFor('a poll tick', () => wakes >= 1, 5000);
      expect(refills).toBe(0);
      timers.soon();
      await waitFor('a refill', () => refills === 1, 5000);
      const before = wakes;
      timers.wakeIn(1);
      await waitFor('the due timer', () => wakes > before, 5000);
    } finally {
      timers.stop();
    }
  });
});

describe('claim floor: the claim statements read from it', () => {
  const { pool, fresh, dispose } = schemaScope('floor');
  const schema = fresh();
  const s = quoteIdent(schema);
  let statements: ClaimStatements;
  const params = (limit: number): ClaimParams => ['w1', 'q', ['job'], limit, 30_000];

  beforeAll(async () => {
    await new Migrator(pool, schema).migrate();
    await pool.query(`INSERT INTO ${s}.workers (worker_id, queue, lease_hash) VALUES ('w1', 'q', 'x')`);
    statements = new ClaimStatements(pool, s, schema, (base) => base);
  });
  afterAll(dispose);

  /** Inserts jobs (id, priority, run_at as text), without the NOTIFY trigger. */
  async function insert(jobs: Array<[string, number, string]>): Promise<void> {
    await pool.query(
      `INSERT INTO ${s}.jobs (id, queue, name, payload, priority, run_at)
       SELECT id, 'q', 'job', '{}', p, r::timestamptz FROM unnest($1::text[], $2::int[], $3::text[]) AS u(id, p, r)`,
      [jobs.map((j) => j[0]), jobs.map((j) => j[1]), jobs.map((j) => j[2])],
    );
  }

  it('takes only jobs after the floor, of its priority, in claim order; rows of its millisecond are compared to the microsecond', async () => {
    await insert([
      ['01A', 0, '2020-01-01 00:00:00.005+00'], // before the floor (an earlier millisecond)
      ['01B', 0, '2020-01-01 00:00:00.007+00'], // the floor's own row (exactly on its millisecond)
      ['01C', 0, '2020-01-01 00:00:00.007+00'], // same time, later id: after the floor
      ['00Z', 0, '2020-01-01 00:00:00.0071+00'], // same millisecond, later microsecond, earlier id: after the floor
      ['01D', 0, '2020-01-01 00:00:00.009+00'],
      ['01E', 5, '2020-01-01 00:00:00.001+00'], // a higher priority: before the floor
      ['01F', -1, '2020-01-01 00:00:00.001+00'], // a lower priority: not read from this floor
    ]);
    const floor: FloorKey = { priority: 0, runAtMs: Date.parse('2020-01-01T00:00:00.007Z'), id: '01B' };
    const first = await statements.claim(params(2), floor);
    expect(first.map((r) => r.id).sort()).toEqual(['00Z', '01C']);
    const rest = await statements.claim(params(10), floor);
    expect(rest.map((r) => r.id)).toEqual(['01D']);
    // The full claim reads from the start: everything left, highest priority first.
    const full = await statements.claim(params(10), null);
    expect(full.map((r) => r.id).sort()).toEqual(['01A', '01B', '01E', '01F']);
  });

  it('the ack-and-claim statement reads from the floor too, and its acks land', async () => {
    await pool.query(`DELETE FROM ${s}.jobs`);
    await insert([
      ['02A', 0, '2021-01-01 00:00:00.001+00'],
      ['02B', 0, '2021-01-01 00:00:00.002+00'],
      ['02C', 0, '2021-01-01 00:00:00.003+00'],
    ]);
    const [claimed] = await statements.claim(params(1), null);
    expect(claimed!.id).toBe('02A');
    const floor: FloorKey = { priority: 0, runAtMs: Date.parse('2021-01-01T00:00:00.002Z'), id: '02B' };
    const ack = { id: '02A', queue: 'q', name: 'job', durationMs: 1, attempt: 1, lockedBy: 'w1', status: 'done' as const, result: null, error: null, retryDelayMs: 0, maxAttempts: 3, progress: null };
    const result = await statements.ackAndClaim([ack], params(5), floor);
    expect(result.filter((r) => r.acked).map((r) => r.id)).toEqual(['02A']);
    expect(result.filter((r) => !r.acked).map((r) => r.id)).toEqual(['02C']);
    const { rows } = await pool.query(`SELECT id, status FROM ${s}.jobs ORDER BY id`);
    expect(rows).toEqual([
      { id: '02A', status: 'done' },
      { id: '02B', status: 'pending' },
      { id: '02C', status: 'running' },
    ]);
  });
});

describe('claim floor: a backlog drain', () => {
  const { pool, fresh, dispose } = schemaScope('floordrain');
  afterAll(dispose);

  it('claims from the floor while the backlog lasts; a job put before the floor without a NOTIFY is found by the poll tick, before the backlog ends', async () => {
    const schema = fresh();
    const s = quoteIdent(schema);
    const started: string[] = [];
    @Processor('default')
    @Injectable()
    class Slow {
      @Process('job')
      async run(job: Job) {
        started.push(job.id);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const { pool: appPool, names } = recordingPool();
    // The backlog takes about 2 s to drain (3,000 jobs of 5 ms, 8 at a time): several poll ticks.
    const app = await createQueueApp({ schema, pool: appPool, connection: undefined, pollIntervalMs: 200, queues: [{ name: 'default', concurrency: 8 }] }, [Slow]);
    try {
      const sink = app.get<QueueSink>(getSinkToken('default'));
      const BACKLOG = 3000;
      for (let i = 0; i < BACKLOG; i += 1000) await sink.pushMany(Array.from({ length: 1000 }, (_, j) => ({ name: 'job', data: { i: i + j } })));
      await waitFor('a claim from the floor', () => names.some((n) => n.includes('_floor_')), 20_000);
      await waitFor('300 jobs started', () => started.length >= 300, 20_000);
      // Before every job of the backlog in claim order (an old run_at), written without the
      // NOTIFY trigger: as a job handed back or rescued with its old place would be.
      const client = await pool.connect();
      try {
        await client.query(`SET session_replication_role = replica`);
        await client.query(`INSERT INTO ${s}.jobs (id, queue, name, payload, run_at) VALUES ('00BEFORE', 'default', 'job', '{}', now() - interval '1 hour')`);
        await client.query(`SET session_replication_role = DEFAULT`);
      } finally {
        client.release();
      }
      await waitFor('every job started', () => started.length === BACKLOG + 1, 30_000);
      expect(started.indexOf('00BEFORE')).toBeGreaterThan(-1);
      expect(started.indexOf('00BEFORE')).toBeLessThan(BACKLOG);
      expect(new Set(started).size).toBe(BACKLOG + 1);
    } finally {
      await app.close();
      await appPool.end();
    }
  });
});

describe('claim floor: a handler without room', () => {
  const { fresh, dispose } = schemaScope('floornames');
  afterAll(dispose);

  it("claims for the other names pass over its jobs without moving the floor; its jobs a claim could not start are claimed again when its slot frees: every job runs, each name's in claim order", async () => {
    const schema = fresh();
    const order: Record<string, number[]> = { one: [], many: [] };
    @Processor('default')
    @Injectable()
    class Mixed {
      @Process('one', { concurrency: 1 })
      async one(job: Job<{ i: number }>) {
        order.one.push(job.data.i);
        await new Promise((r) => setTimeout(r, 2));
      }

      @Process('many')
      many(job: Job<{ i: number }>) {
        order.many.push(job.data.i);
      }
    }
    const app = await createQueueApp({ schema, pollIntervalMs: 60_000, queues: [{ name: 'default', concurrency: 8 }] }, [Mixed]);
    try {
      const sink = app.get<QueueSink>(getSinkToken('default'));
      // Every other job is 'one': while its single slot is busy, claims ask for 'many' only.
      const jobs = Array.from({ length: 3000 }, (_, i) => ({ name: i % 2 === 0 ? 'one' : 'many', data: { i } }));
      for (let i = 0; i < jobs.length; i += 1000) await sink.pushMany(jobs.slice(i, i + 1000));
      // A poll tick is a minute away: the last jobs of 'one' are claimed because its freed slot asks.
      await waitFor('every job started', () => order.one.length + order.many.length === 3000, 30_000);
      expect(order.one).toEqual(jobs.filter((j) => j.name === 'one').map((j) => j.data.i));
      expect(new Set(order.many).size).toBe(1500);
    } finally {
      await app.close();
    }
  });
});
