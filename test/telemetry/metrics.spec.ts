import { Injectable, type INestApplication } from '@nestjs/common';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Process, Processor, QueueAdmin, type Job } from '../../src/index.js';
import { openTelemetry } from '../../src/telemetry/opentelemetry/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, observeQueries, schemaScope } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';

/** The SDK's pull reader, read on demand: `collect()` runs every observable callback once. */
class InMemoryReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
  async metrics(): Promise<MetricData[]> {
    const { resourceMetrics, errors } = await this.collect();
    expect(errors).toEqual([]);
    return resourceMetrics.scopeMetrics.filter((s) => s.scope.name === 'nestjs-pg-queue').flatMap((s) => s.metrics);
  }
}

const release = deferred();

@Processor('metered')
@Injectable()
class MeteredWorker {
  @Process('ok')
  ok() {
    return 1;
  }

  @Process('flaky', { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 10 } })
  flaky(job: Job) {
    if (job.attempt === 1) throw new Error('first try fails');
  }

  @Process('doomed', { maxAttempts: 1 })
  doomed(): never {
    throw new Error('always fails');
  }

  @Process('held')
  async held() {
    await release.promise;
  }
}

type Point = DataPoint<number | Histogram>;
const pointsOf = (metrics: MetricData[], name: string): Point[] => (metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? []) as Point[];
/** Sum of a counter's points (or a histogram's counts) whose attributes include `where`. */
function total(metrics: MetricData[], name: string, where: Record<string, unknown> = {}): number {
  return pointsOf(metrics, name)
    .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
    .reduce((sum, p) => sum + (typeof p.value === 'number' ? p.value : p.value.count), 0);
}
const gauge = (metrics: MetricData[], name: string, queue: string) =>
  pointsOf(metrics, name).find((p) => p.attributes['messaging.destination.name'] === queue)?.value as number | undefined;

interface MeteredApp {
  app: INestApplication;
  reader: InMemoryReader;
  pool: pg.Pool;
  /** Gauge statements sent so far. */
  gaugeQueries: () => number;
  close: () => Promise<void>;
}

/** An app with its own MeterProvider and reader, on a pool that counts the gauge statements. */
async function meteredApp(schema: string, options: Parameters<typeof openTelemetry>[0]): Promise<MeteredApp> {
  const reader = new InMemoryReader();
  const provider = new MeterProvider({ readers: [reader] });
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 5 });
  let gaugeQueries = 0;
  observeQueries(pool, (text) => {
    if (text.includes('AS oldest_due_ms')) gaugeQueries++;
  });
  const app = await createQueueApp(
    { schema, pool, connection: undefined, queues: [{ name: 'metered', concurrency: 4 }, 'idle'], telemetry: openTelemetry({ meterProvider: provider, traces: false, ...options }) },
    [MeteredWorker],
  );
  return {
    app,
    reader,
    pool,
    gaugeQueries: () => gaugeQueries,
    close: async () => {
      await app.close();
      await pool.end();
      await provider.shutdown();
    },
  };
}

describe('OpenTelemetry metrics (in-memory reader)', () => {
  const scope = schemaScope('otelm');
  let counted: MeteredApp;
  let gauged: MeteredApp;
  let schema: string;

  beforeAll(async () => {
    counted = await meteredApp(scope.fresh(), {});
    schema = scope.fresh();
    gauged = await meteredApp(schema, { gaugeIntervalMs: 60_000 });
  });
  afterAll(async () => {
    release.resolve();
    await counted?.close();
    await gauged?.close();
    await scope.dispose();
  });

  it('counts pushes by queue and name, outcomes when their ack lands, and records durations and wait times', async () => {
    const { app, reader } = counted;
    const sink = sinkOf(app, 'metered');
    const ids = await sink.pushMany([{ name: 'ok', data: 1 }, { name: 'ok', data: 2 }, { name: 'flaky', data: 3 }]);
    ids.push(await sink.push('doomed', {}));
    const admin = app.get(QueueAdmin);
    await waitFor('every job finished', async () => {
      const jobs = await Promise.all(ids.map((id) => admin.getJob(id)));
      return jobs.every((j) => j?.status === 'done' || j?.status === 'killed');
    });
    // Ack landing and the metric update happen in the same turn; waiting for the count is enough.
    await waitFor('the outcomes counted', async () => total(await reader.metrics(), 'nestjs_pg_queue.jobs.completed') === 3);
    const m = await reader.metrics();

    const queue = { 'messaging.destination.name': 'metered', 'messaging.system': 'nestjs-pg-queue' };
    expect(total(m, 'nestjs_pg_queue.jobs.pushed', { ...queue, 'nestjs_pg_queue.job.name': 'ok' })).toBe(2);
    expect(total(m, 'nestjs_pg_queue.jobs.pushed', { ...queue, 'nestjs_pg_queue.job.name': 'flaky' })).toBe(1);
    expect(total(m, 'nestjs_pg_queue.jobs.pushed', { ...queue, 'nestjs_pg_queue.job.name': 'doomed' })).toBe(1);
    expect(total(m, 'nestjs_pg_queue.jobs.completed', { 'nestjs_pg_queue.job.name': 'ok' })).toBe(2);
    expect(total(m, 'nestjs_pg_queue.jobs.completed', { 'nestjs_pg_queue.job.name': 'flaky' })).toBe(1);
    // failed counts attempts that failed: flaky's first and doomed's only; killed counts doomed.
    expect(total(m, 'nestjs_pg_queue.jobs.failed')).toBe(2);
    expect(total(m, 'nestjs_pg_queue.jobs.killed', { 'nestjs_pg_queue.job.name': 'doomed' })).toBe(1);
    expect(total(m, 'nestjs_pg_queue.jobs.killed')).toBe(1);

    // One duration per attempt, by outcome; one wait time per attempt.
    expect(total(m, 'nestjs_pg_queue.job.duration', { 'nestjs_pg_queue.job.outcome': 'done' })).toBe(3);
    expect(total(m, 'nestjs_pg_queue.job.duration', { 'nestjs_pg_queue.job.outcome': 'retrying' })).toBe(1);
    expect(total(m, 'nestjs_pg_queue.job.duration', { 'nestjs_pg_queue.job.outcome': 'killed' })).toBe(1);
    expect(total(m, 'nestjs_pg_queue.job.wait_time')).toBe(5);
    const duration = m.find((d) => d.descriptor.name === 'nestjs_pg_queue.job.duration')!;
    expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(duration.descriptor.unit).toBe('s');
    for (const p of duration.dataPoints as Array<DataPoint<Histogram>>) {
      expect(p.value.min!).toBeGreaterThanOrEqual(0);
      expect(p.value.max!).toBeLessThan(30); // seconds, not milliseconds
    }
    // The retry waited out its 10 ms backoff from its run_at, not from the push.
    const waits = pointsOf(m, 'nestjs_pg_queue.job.wait_time') as Array<DataPoint<Histogram>>;
    for (const p of waits) expect(p.value.max!).toBeLessThan(30);
  });

  it('gauges: pending (due), scheduled, running and the oldest pending age per queue, from one query shared by every gauge', async () => {
    const { app, reader, pool } = gauged;
    const sink = sinkOf(app, 'idle');
    // Nothing handles queue "idle" here: its jobs wait. Two due (one of them ten minutes overdue) and one for later.
    await sink.push('x', {});
    const overdue = await sink.push('x', {});
    await pool.query(`UPDATE ${schema}.jobs SET run_at = now() - interval '10 minutes' WHERE id = $1`, [overdue]);
    await sink.push('x', {}, { delayMs: 3_600_000 });
    const held = await sinkOf(app, 'metered').push('held', {});
    await waitFor('the held job running', async () => (await app.get(QueueAdmin).getJob(held))?.status === 'running');

    const before = gauged.gaugeQueries();
    const m = await reader.metrics();
    expect(gauged.gaugeQueries() - before).toBe(1); // four gauges, one read
    expect(gauge(m, 'nestjs_pg_queue.queue.pending', 'idle')).toBe(2);
    expect(gauge(m, 'nestjs_pg_queue.queue.scheduled', 'idle')).toBe(1);
    expect(gauge(m, 'nestjs_pg_queue.queue.running', 'idle')).toBe(0);
    const age = gauge(m, 'nestjs_pg_queue.queue.oldest_pending_age', 'idle')!;
    expect(age).toBeGreaterThanOrEqual(600);
    expect(age).toBeLessThan(700);
    expect(gauge(m, 'nestjs_pg_queue.queue.running', 'metered')).toBe(1);
    expect(gauge(m, 'nestjs_pg_queue.queue.pending', 'metered')).toBe(0);
    expect(gauge(m, 'nestjs_pg_queue.queue.oldest_pending_age', 'metered')).toBe(0);

    // A second collection within gaugeIntervalMs reuses the answer: no query.
    await reader.metrics();
    expect(gauged.gaugeQueries() - before).toBe(1);
    release.resolve();
  });

  it('after the app closes, its gauges read nothing (the callback is removed; the pool may be gone)', async () => {
    const closing = await meteredApp(scope.fresh(), { gaugeIntervalMs: 0 });
    expect(gauge(await closing.reader.metrics(), 'nestjs_pg_queue.queue.pending', 'idle')).toBe(0);
    expect(closing.gaugeQueries()).toBe(1);
    await closing.app.close();
    await closing.reader.metrics(); // no error either
    expect(closing.gaugeQueries()).toBe(1);
    await closing.close();
  });
});
