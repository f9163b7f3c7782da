// This project, booted as a user would: a Nest application context with QueueModule and a
// @Processor provider. Written without decorator syntax (plain ESM): the decorators only write
// metadata, so they are applied as functions.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { seedFinishedOurs } from '../lib/our-schema.mjs';
import { getSinkToken, JOB_EVENTS, Process, Processor, QueueEvents, QueueModule } from '../../dist/index.js';

export const QUEUE = 'bench';
export const SCHEMA = 'pgqueue';

export async function open(ctx) {
  const prefetch = ctx.variant?.prefetch ?? 0;
  const directStart = ctx.variant?.directStart ?? true;
  const preparedStatements = ctx.variant?.preparedStatements ?? true;
  // `transaction`: the handler runs `{ transaction: true }`. `effect`: it writes one row, through
  // job.client in its transaction, or else through a pool of the app's own (autocommit).
  const transaction = ctx.variant?.transaction ?? false;
  const effect = ctx.variant?.effect ?? false;
  const effectsSql = `INSERT INTO ${SCHEMA}.bench_effects (job_id) VALUES ($1)`;
  const effectsPool = effect && !transaction ? new pg.Pool({ connectionString: ctx.dbUrl, max: ctx.concurrency }) : null;
  let handler = () => undefined;
  class BenchProcessor {
    noop(job) {
      return handler(job.data);
    }
    async write(job) {
      await (transaction ? job.client : effectsPool).query(effectsSql, [job.id]);
      return handler(job.data);
    }
  }
  Processor(QUEUE)(BenchProcessor);
  const method = effect ? 'write' : 'noop';
  Process('noop', transaction ? { transaction } : {})(BenchProcessor.prototype, method, Object.getOwnPropertyDescriptor(BenchProcessor.prototype, method));

  let app = null;
  let sink = null;
  const telemetry = ctx.variant?.otel ? await otelWithSdk() : undefined;
  const boot = async (workers) => {
    class BenchModule {}
    Module({
      imports: [
        QueueModule.forRoot({
          connection: { connectionString: ctx.dbUrl, max: 10 },
          schema: SCHEMA,
          queues: [{ name: QUEUE, concurrency: ctx.concurrency, ...(prefetch ? { prefetch } : {}), ...(directStart ? {} : { directStart }) }],
          workers,
          shutdownGraceMs: 2000,
          ...(preparedStatements ? {} : { preparedStatements }),
          ...(telemetry ? { telemetry } : {}),
        }),
      ],
      providers: workers ? [BenchProcessor] : [],
    })(BenchModule);
    app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'], abortOnError: false });
    sink = app.get(getSinkToken(QUEUE));
    if (workers && ctx.variant?.events) {
      let seen = 0;
      for (const name of JOB_EVENTS) app.get(QueueEvents).on(name, () => void seen++);
    }
  };

  return {
    async setup() {
      await boot(false); // migrates
    },
    async seed(n) {
      for (let i = 0; i < n; i += 5000) {
        const jobs = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) jobs.push({ name: 'noop', data: { i: j } });
        await sink.pushMany(jobs);
      }
    },
    seedFinished(n) {
      return seedFinishedOurs(ctx.dbUrl, SCHEMA, QUEUE, n);
    },
    async startWorker(h) {
      handler = h;
      if (effect) {
        const c = new pg.Client({ connectionString: ctx.dbUrl });
        await c.connect();
        await c.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.bench_effects (job_id text NOT NULL)`);
        await c.end();
      }
      await boot(true);
    },
    async startProducer() {
      if (!app) await boot(false);
    },
    push(data) {
      return sink.push('noop', data);
    },
    pushBatch(datas) {
      return sink.pushMany(datas.map((data) => ({ name: 'noop', data })));
    },
    sink: () => sink,
    async close() {
      if (app) await app.close();
      await effectsPool?.end();
    },
    settings:
      `QueueModule.forRoot: concurrency = N per process${prefetch ? `, prefetch ${prefetch}` : ' (no prefetch: the default)'}, ` +
      (directStart
        ? 'directStart (the default: a push by the worker\'s own process into an idle worker is inserted claimed and starts when the INSERT returns; others go by LISTEN/NOTIFY), '
        : 'directStart: false (every push goes INSERT, NOTIFY, claim: the path of a push from another process), ') +
      (preparedStatements ? '' : 'preparedStatements: false (every statement unnamed, as through a transaction pooler), ') +
      (transaction ? '@Process({ transaction: true }) (each attempt in a transaction committed with its fenced ack), ' : '') +
      (effect ? `a handler that inserts one row${transaction ? ' through job.client' : ' through a pool of its own (autocommit)'}, ` : '') +
      'pg pool max 10, pollIntervalMs 1000 (default), push/pushMany',
  };
}

/**
 * openTelemetry() with an SDK as an app registers one: a tracer provider with a batch processor
 * (spans exported to nowhere, so the figure is the queue's cost, not an exporter's), a meter
 * provider with a reader, and the AsyncLocalStorage context manager.
 */
async function otelWithSdk() {
  const { context } = await import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  const { openTelemetry } = await import('../../dist/telemetry/opentelemetry/index.js');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const discard = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(discard, { maxQueueSize: 100_000, maxExportBatchSize: 5_000 })] });
  class PullReader extends MetricReader {
    async onShutdown() {}
    async onForceFlush() {}
  }
  const meterProvider = new MeterProvider({ readers: [new PullReader()] });
  return openTelemetry({ tracerProvider, meterProvider });
}
