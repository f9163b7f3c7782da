import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueAdmin, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const running = { total: 0, limited: 0 };
const peak = { total: 0, limited: 0 };
const work = () => new Promise((r) => setTimeout(r, 15));

@Processor('default')
@Injectable()
class Busy {
  @Process('limited', { concurrency: 1 })
  async limited() {
    running.total++;
    running.limited++;
    peak.total = Math.max(peak.total, running.total);
    peak.limited = Math.max(peak.limited, running.limited);
    await work();
    running.limited--;
    running.total--;
  }

  @Process('free')
  async free() {
    running.total++;
    peak.total = Math.max(peak.total, running.total);
    await work();
    running.total--;
  }
}

const fast = { running: 0, peak: 0, done: 0 };

@Processor('fast')
@Injectable()
class Quick {
  @Process('tick')
  async tick() {
    fast.running++;
    fast.peak = Math.max(fast.peak, fast.running);
    // Varied lengths: slots free at different times, so a claim may start while another is in flight.
    for (let k = 0; k <= fast.done % 4; k++) await new Promise((r) => setImmediate(r));
    fast.running--;
    fast.done++;
  }
}

describe('consumer: slots', () => {
  const pool = testPool();
  const schema = uniqueSchema();
  afterAll(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  /** Waits until `total` jobs of `queue` are done, sampling how many of its rows are `running` meanwhile. */
  async function drainWatchingRunningRows(queue: string, total: number, timeoutMs: number, everyMs: number) {
    let maxRunningRows = 0;
    let samples = 0;
    await waitFor(
      `all ${total} done`,
      async () => {
        const r = await pool.query(
          `SELECT count(*) FILTER (WHERE status = 'running')::int AS running, count(*) FILTER (WHERE status = 'done')::int AS done FROM ${schema}.jobs WHERE queue = $1`,
          [queue],
        );
        samples++;
        maxRunningRows = Math.max(maxRunningRows, r.rows[0].running);
        return r.rows[0].done === total;
      },
      timeoutMs,
      everyMs,
    );
    return { maxRunningRows, samples };
  }

  it('never runs more than the queue concurrency, nor more than a handler concurrency, and claims only names it handles', async () => {
    const app = await createQueueApp({ schema, queues: [{ name: 'default', concurrency: 3, prefetch: 0 }] }, [Busy]);
    const sink = app.get<QueueSink>(getSinkToken('default'));
    const orphanName = await sink.push('no-handler-here', {});
    await sink.pushMany([
      ...Array.from({ length: 8 }, () => ({ name: 'limited', data: {} })),
      ...Array.from({ length: 12 }, () => ({ name: 'free', data: {} })),
    ]);
    const { maxRunningRows } = await drainWatchingRunningRows('default', 20, 20_000, 5);
    expect(peak.total).toBeLessThanOrEqual(3);
    expect(peak.total).toBeGreaterThan(1);
    expect(peak.limited).toBe(1);
    expect(maxRunningRows).toBeLessThanOrEqual(3);
    const unhandled = await app.get(QueueAdmin).getJob(orphanName);
    expect(unhandled).toMatchObject({ status: 'pending', attempts: 0, lockedBy: null });
    await app.close();
  });

  it('with claims overlapping (short jobs of varied length) and nothing held (prefetch: 0), running handlers and running rows stay within the concurrency', async () => {
    const app = await createQueueApp({ schema, queues: [{ name: 'fast', concurrency: 6, prefetch: 0 }] }, [Quick]);
    const sink = app.get<QueueSink>(getSinkToken('fast'));
    await sink.pushMany(Array.from({ length: 1500 }, () => ({ name: 'tick', data: {} })));
    const { maxRunningRows, samples } = await drainWatchingRunningRows('fast', 1500, 30_000, 1);
    expect(fast.done).toBe(1500);
    expect(fast.peak).toBeLessThanOrEqual(6);
    expect(fast.peak).toBeGreaterThan(1);
    expect(samples).toBeGreaterThan(3);
    expect(maxRunningRows).toBeLessThanOrEqual(6);
    await app.close();
  });
});
