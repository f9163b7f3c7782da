import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, type QueueSink } from '../../src/index.js';
import type { Ack } from '../../src/consumer/acker.js';
import type { HandlerDefinition } from '../../src/consumer/handler-definition.js';
import { Worker } from '../../src/consumer/worker.js';
import type { ClaimedRow } from '../../src/db/sql/claim-jobs.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { queueConfig } from '../helpers/queue-config.js';

/** Handlers of the gated queue block until the test opens the gate. */
let gate = deferred();
const gated = { running: 0, peak: 0, started: [] as number[] };

@Processor('gated')
@Injectable()
class Gated {
  @Process('step')
  async step(job: { data: { i: number } }) {
    gated.started.push(job.data.i);
    gated.running++;
    gated.peak = Math.max(gated.peak, gated.running);
    await gate.promise;
    gated.running--;
  }
}

const mixed = { total: 0, one: 0, peakTotal: 0, peakOne: 0, done: 0 };
const tick = () => new Promise((r) => setTimeout(r, 2));

@Processor('mixed')
@Injectable()
class Mixed {
  @Process('one', { concurrency: 1 })
  async one() {
    mixed.total++;
    mixed.one++;
    mixed.peakTotal = Math.max(mixed.peakTotal, mixed.total);
    mixed.peakOne = Math.max(mixed.peakOne, mixed.one);
    await tick();
    mixed.one--;
    mixed.total--;
    mixed.done++;
  }

  @Process('many')
  async many() {
    mixed.total++;
    mixed.peakTotal = Math.max(mixed.peakTotal, mixed.total);
    await tick();
    mixed.total--;
    mixed.done++;
  }
}

describe('consumer: prefetch', () => {
  const pool = testPool();
  const schema = uniqueSchema();
  afterAll(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  const counts = async (queue: string) =>
    (
      await pool.query<{ running: number; pending: number; done: number; attempts: number }>(
        `SELECT count(*) FILTER (WHERE status = 'running')::int AS running, count(*) FILTER (WHERE status = 'pending')::int AS pending,
                count(*) FILTER (WHERE status = 'done')::int AS done, coalesce(sum(attempts), 0)::int AS attempts
         FROM ${schema}.jobs WHERE queue = $1`,
        [queue],
      )
    ).rows[0];

  it('holds up to `prefetch` claimed jobs beyond the busy slots, starts them in claim order as slots free, and runs each once', async () => {
    gate = deferred();
    // Fast heartbeats: each one asks for a self-reconciliation, which must count prefetched jobs as held.
    const app = await createQueueApp(
      { schema, queues: [{ name: 'gated', concurrency: 2, prefetch: 6 }], heartbeatIntervalMs: 50, orphanTimeoutMs: 10_000 },
      [Gated],
    );
    try {
      const sink = app.get<QueueSink>(getSinkToken('gated'));
      await sink.pushMany(Array.from({ length: 20 }, (_, i) => ({ name: 'step', data: { i } })));
      // Two handlers run; six more jobs are claimed (running in the database) and wait in memory.
      await waitFor('2 running handlers and 8 running rows', async () => gated.running === 2 && (await counts('gated')).running === 8);
      const beats = new Set<string>();
      await waitFor('4 heartbeats', async () => {
        const r = await pool.query(`SELECT last_seen::text FROM ${schema}.workers WHERE queue = 'gated'`);
        beats.add(r.rows[0].last_seen);
        return beats.size >= 5;
      }, 15_000, 10);
      expect(await counts('gated')).toMatchObject({ running: 8, pending: 12 });
      gate.resolve();
      let maxRunningRows = 0;
      await waitFor('all 20 done', async () => {
        const c = await counts('gated');
        maxRunningRows = Math.max(maxRunningRows, c.running);
        return c.done === 20;
      });
      expect(maxRunningRows).toBeLessThanOrEqual(8);
      expect(gated.peak).toBe(2);
      expect(gated.started).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect((await counts('gated')).attempts).toBe(20);
    } finally {
      gate.resolve();
      await app.close();
    }
  });

  it('on shutdown hands prefetched jobs back at once, unstarted and with no attempt counted, while the running one drains', async () => {
    gate = deferred();
    gated.started = [];
    const app = await createQueueApp({ schema, queues: [{ name: 'gated', concurrency: 1, prefetch: 5 }], shutdownGraceMs: 15_000 }, [Gated]);
    const sink = app.get<QueueSink>(getSinkToken('gated'));
    const ids = await sink.pushMany(Array.from({ length: 6 }, (_, i) => ({ name: 'step', data: { i } })));
    await waitFor('1 running handler and 6 running rows', async () => gated.running === 1 && (await counts('gated')).running === 6);
    const closing = app.close();
    try {
      // The handler is still blocked (the grace period is long): only the prefetched jobs went back.
      await waitFor('5 jobs back to pending', async () => (await counts('gated')).pending === 5);
      const rows = await pool.query(`SELECT id, status, attempts, locked_by FROM ${schema}.jobs WHERE id = ANY($1) ORDER BY id`, [ids]);
      expect(rows.rows[0]).toMatchObject({ status: 'running', attempts: 1 });
      for (const r of rows.rows.slice(1)) expect(r).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
      expect(gated.started).toEqual([0]);
    } finally {
      gate.resolve();
      await closing;
    }
    const after = await pool.query(`SELECT status, attempts FROM ${schema}.jobs WHERE id = $1`, [ids[0]]);
    expect(after.rows[0]).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('keeps a handler within its own concurrency while others start past its prefetched jobs', async () => {
    const app = await createQueueApp({ schema, queues: [{ name: 'mixed', concurrency: 3, prefetch: 10 }] }, [Mixed]);
    try {
      const sink = app.get<QueueSink>(getSinkToken('mixed'));
      // The capped jobs come first in claim order: the others must not wait behind them.
      await sink.pushMany([
        ...Array.from({ length: 15 }, () => ({ name: 'one', data: {} })),
        ...Array.from({ length: 15 }, () => ({ name: 'many', data: {} })),
      ]);
      let maxRunningRows = 0;
      await waitFor('all 30 done', async () => {
        const c = await counts('mixed');
        maxRunningRows = Math.max(maxRunningRows, c.running);
        return c.done === 30;
      });
      expect(mixed.done).toBe(30);
      expect(mixed.peakOne).toBe(1);
      expect(mixed.peakTotal).toBeGreaterThan(1);
      expect(mixed.peakTotal).toBeLessThanOrEqual(3);
      expect(maxRunningRows).toBeLessThanOrEqual(13);
    } finally {
      await app.close();
    }
  });
});

describe('consumer: prefetch and a lost lease', () => {
  it('drops prefetched jobs claimed under the expired id unstarted, and keeps those claimed under the new one', async () => {
    const release = deferred();
    const started: string[] = [];
    const acks: Ack[] = [];
    const handler: HandlerDefinition = {
      queue: 'q',
      name: 'n',
      label: 'T.n',
      callback: async (job: { id: string }) => {
        started.push(job.id);
        await release.promise;
      },
    };
    const worker = new Worker(
      queueConfig({ name: 'q', concurrency: 1, prefetch: 4, directStart: true, pollIntervalMs: 1000, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 10 } }),
      new Map([['n', handler]]),
      (a) => acks.push(a),
      () => undefined,
    );
    const row = (id: string): ClaimedRow => ({
      id,
      name: 'n',
      payload: {},
      attempts: 1,
      max_attempts: null,
      priority: 0,
      run_at: 0,
      created_at: 0,
      metadata: {},
      idempotency_key: null,
    });
    expect(worker.start([row('a1'), row('a2'), row('a3')], 'old')).toEqual([]);
    expect(worker.start([row('b1'), row('b2'), row('b3')], 'new').map((r) => [r.id, r.lockedBy])).toEqual([['b3', 'new']]); // prefetch full: the caller releases it
    expect(worker.prefetchedCount).toBe(4);
    worker.abandon('old');
    // a1 was running under the old id: aborted, no ack. a2 and a3 are gone; b1 starts in the freed slot.
    expect(started).toEqual(['a1', 'b1']);
    expect(worker.ownedIds().sort()).toEqual(['b1', 'b2']);
    release.resolve();
    await waitFor('b2 done', () => acks.length === 2);
    expect(acks.map((a) => [a.id, a.lockedBy, a.status])).toEqual([
      ['b1', 'new', 'done'],
      ['b2', 'new', 'done'],
    ]);
    expect(started).toEqual(['a1', 'b1', 'b2']);
  });
});
