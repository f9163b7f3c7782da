import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueAdmin, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';

/**
 * Measures and prints idle pickup latency and burn-down throughput (figures for the issue note).
 * Asserts only correctness: speed is measured by `npm run bench`, never asserted in tests.
 */
let onStart: ((job: Job) => void) | null = null;
let doneCount = 0;

@Processor('default')
@Injectable()
class Noop {
  @Process('noop')
  noop(job: Job) {
    onStart?.(job);
    doneCount++;
  }
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

describe('consumer: pickup latency and burn-down (printed, not asserted)', () => {
  const { fresh, dispose } = schemaScope();
  afterAll(dispose);

  it('idle pickup: push -> handler start over 200 jobs', async () => {
    const schema = fresh();
    const app = await createQueueApp({ schema, pollIntervalMs: 1000 }, [Noop]);
    const sink = app.get<QueueSink>(getSinkToken('default'));
    const latencies: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = deferred<number>();
      onStart = () => started.resolve(performance.now());
      const t0 = performance.now();
      await sink.push('noop', { i });
      latencies.push((await started.promise) - t0);
    }
    onStart = null;
    latencies.sort((a, b) => a - b);
    console.log(
      `[measure] idle pickup over 200 jobs: p50 ${pct(latencies, 50).toFixed(2)} ms, p99 ${pct(latencies, 99).toFixed(2)} ms, max ${latencies.at(-1)!.toFixed(2)} ms`,
    );
    expect(latencies).toHaveLength(200);
    await app.close();
  });

  it('burn-down: 10,000 no-op jobs inserted first, then drained with concurrency 32', async () => {
    const schema = fresh();
    const tSetup = performance.now();
    const producer = await createQueueApp({ schema, workers: false });
    const sink = producer.get<QueueSink>(getSinkToken('default'));
    await sink.pushMany(Array.from({ length: 10_000 }, (_, i) => ({ name: 'noop', data: { i } })));
    await producer.close();
    console.log(`[measure] setup (boot producer, pushMany 10,000, close) took ${(performance.now() - tSetup).toFixed(0)} ms`);
    doneCount = 0;
    const t0 = performance.now();
    const app = await createQueueApp({ schema, queues: [{ name: 'default', concurrency: 32 }] }, [Noop]);
    const admin = app.get(QueueAdmin);
    await waitFor('all handlers ran', () => doneCount === 10_000, 120_000, 5);
    const secs = (performance.now() - t0) / 1000;
    const tAck = performance.now();
    await waitFor('all acked', async () => (await admin.stats()).default.done === 10_000, 30_000);
    console.log(`[measure] last acks landed ${(performance.now() - tAck).toFixed(0)} ms after the last handler ran`);
    console.log(`[measure] burn-down of 10,000 no-op jobs: ${(10_000 / secs).toFixed(0)} jobs/s (${secs.toFixed(2)} s, incl. app boot)`);
    expect(doneCount).toBe(10_000);
    await app.close();
  });
});
