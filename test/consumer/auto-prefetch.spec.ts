import { Injectable } from '@nestjs/common';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, dropSchema, observeQueries, testPool, uniqueSchema } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';

// Jobs marked `stall` block until the gate opens (while `stalling`) in process A; B's handler never blocks.
let gate = deferred();
let stalling = true;
const ran = { fast: 0, stalled: 0, byB: 0 };

@Processor('burst')
@Injectable()
class Burst {
  @Process('step')
  async step(job: { data: { stall: boolean } }) {
    if (!job.data.stall) {
      ran.fast++;
      return;
    }
    if (stalling) {
      ran.stalled++;
      await gate.promise;
      return;
    }
    ran.byB++;
  }
}

// A second provider class for process B, so its handler can tell it runs in B.
@Processor('burst')
@Injectable()
class BurstInB {
  @Process('step')
  step(job: { data: { stall: boolean } }) {
    if (job.data.stall) ran.byB++;
  }
}

describe("consumer: prefetch 'auto' (the default)", () => {
  const pool = testPool();
  const schema = uniqueSchema();
  afterAll(async () => {
    gate.resolve();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const running = async () =>
    (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE queue = 'burst' AND status = 'running'`)).rows[0].n;

  it('holds nothing before its first attempts finish, then holds claimed jobs ahead under a backlog of short ones', async () => {
    const queuePool = new pg.Pool({ connectionString: databaseUrl(), max: 5 });
    const claims: number[] = [];
    observeQueries(queuePool, (text, values) => {
      if (text.includes("SET status = 'running'") && values) claims.push(Number(values[values.length - 2]));
    });
    const app = await createQueueApp({ schema, pool: queuePool, connection: undefined, queues: [{ name: 'burst', concurrency: 2 }], orphanTimeoutMs: 60_000 }, [Burst]);
    try {
      const sink = app.get<QueueSink>(getSinkToken('burst'));
      gate = deferred();
      stalling = true;
      ran.stalled = 0;
      // Blind: the first claim asks for the free slots only, and the other jobs stay pending.
      await sink.pushMany(Array.from({ length: 6 }, () => ({ name: 'step', data: { stall: true } })));
      await waitFor('stalled = 2', () => ran.stalled === 2, 5_000);
      expect(await running()).toBe(2);
      expect(Math.max(...claims)).toBeLessThanOrEqual(2);
      gate.resolve();
      await waitFor('stalled = 6', () => ran.stalled === 6, 5_000);
      // Measured (short attempts): a backlog is claimed in batches larger than the two slots.
      claims.length = 0;
      ran.fast = 0;
      await sink.pushMany(Array.from({ length: 2_000 }, () => ({ name: 'step', data: { stall: false } })));
      await waitFor('fast = 2_000', () => ran.fast === 2_000, 20_000);
      expect(Math.max(...claims)).toBeGreaterThan(2);
    } finally {
      await app.close();
      await queuePool.end();
    }
  });

  it('hands held jobs back when its handlers stall, so another process runs them long before the orphan timeout', async () => {
    const poolA = new pg.Pool({ connectionString: databaseUrl(), max: 5 });
    let handedBack = 0;
    observeQueries(poolA, (text) => {
      if (text.includes('WITH released AS')) handedBack++;
    });
    const options = { schema, queues: [{ name: 'burst', concurrency: 2 }], orphanTimeoutMs: 60_000, pollIntervalMs: 100 };
    const a = await createQueueApp({ ...options, pool: poolA, connection: undefined }, [Burst]);
    let b: Awaited<ReturnType<typeof createQueueApp>> | null = null;
    try {
      const sink = a.get<QueueSink>(getSinkToken('burst'));
      gate = deferred();
      stalling = true;
      ran.fast = 0;
      ran.stalled = 0;
      ran.byB = 0;
      // A learns that its attempts are short...
      await sink.pushMany(Array.from({ length: 500 }, () => ({ name: 'step', data: { stall: false } })));
      await waitFor('fast = 500', () => ran.fast === 500, 20_000);
      // ...then a batch arrives whose first jobs block both of A's slots.
      await sink.pushMany(Array.from({ length: 40 }, () => ({ name: 'step', data: { stall: true } })));
      await waitFor('stalled = 2', () => ran.stalled === 2, 5_000);
      b = await createQueueApp(options, [BurstInB]);
      // B runs the other 38: the ones A held were handed back (and B woken) within milliseconds.
      await waitFor('byB = 38', () => ran.byB === 38, 10_000);
      expect(ran.stalled).toBe(2);
      expect(handedBack).toBeGreaterThan(0);
      // B's acks land (the first test's six and these 38); A's two stay running.
      await waitFor('38 done', async () => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE queue = 'burst' AND status = 'done' AND payload->>'stall' = 'true'`)).rows[0].n === 6 + 38, 10_000);
      expect(await running()).toBe(2);
    } finally {
      gate.resolve();
      await b?.close();
      await a.close();
      await poolA.end();
    }
  });
});
