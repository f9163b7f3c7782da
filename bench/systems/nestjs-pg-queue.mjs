// This project, booted as a user would: a Nest application context with QueueModule and a
// @Processor provider. Written without decorator syntax (plain ESM): the decorators only write
// metadata, so they are applied as functions.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { seedFinishedOurs } from '../lib/our-schema.mjs';
import { defineJob, getSinkToken, JOB_EVENTS, Process, Processor, QueueAdmin, QueueEvents, QueueModule } from '../../dist/index.js';

export const QUEUE = 'bench';
export const SCHEMA = 'pgqueue';
/** Queues of the `pauses` variant: one paused all the run, one paused and resumed over and over (neither registered by the worker). */
const HELD_QUEUE = 'bench-held';
const TOGGLED_QUEUE = 'bench-other';
/** The `cancels` variant: one extra job every CANCEL_EVERY seeded, cancelled from the back of the queue every CANCEL_SPACING_MS. */
const CANCEL_EVERY = 10;
const CANCEL_SPACING_MS = 5;
/** The `retention` variant: finished rows past their retention, in the table before the burn-down. */
const PRUNABLE_ROWS = 20_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The feature variants (each on the one-process burn-down, against the plain default): `events`,
 * `otel`, `schema`, `pauses`, `cancels`, `cron`, `retention`; `all` turns every one of them on.
 */
function features(variant = {}) {
  const on = (k) => !!(variant.all || variant[k]);
  return { events: on('events'), otel: on('otel'), schema: on('schema'), pauses: on('pauses'), cancels: on('cancels'), cron: on('cron'), retention: on('retention') };
}

export async function open(ctx) {
  const prefetch = ctx.variant?.prefetch; // undefined: the default ('auto')
  const directStart = ctx.variant?.directStart ?? true;
  const preparedStatements = ctx.variant?.preparedStatements ?? true;
  // `transaction`: the handler runs `{ transaction: true }`. `effect`: it writes one row, through
  // job.client in its transaction, or else through a pool of the app's own (autocommit).
  const transaction = ctx.variant?.transaction ?? false;
  const effect = ctx.variant?.effect ?? false;
  const effectsSql = `INSERT INTO ${SCHEMA}.bench_effects (job_id) VALUES ($1)`;
  const effectsPool = effect && !transaction ? new pg.Pool({ connectionString: ctx.dbUrl, max: ctx.concurrency }) : null;
  const F = features(ctx.variant);
  // `schema`: the handler's job is a definition with a zod 4 schema, so every push (the seed's
  // too) validates `data` and the worker checks each claimed payload before the handler runs.
  const z = F.schema ? (await import('zod')).z : null;
  const noopJob = F.schema ? defineJob('noop', z.object({ i: z.number().int() })) : 'noop';
  let handler = () => undefined;
  class BenchProcessor {
    noop(job) {
      return handler(job.data);
    }
    async write(job) {
      await (transaction ? job.client : effectsPool).query(effectsSql, [job.id]);
      return handler(job.data);
    }
    tick() {} // `cron`: the every-second schedule's job, not counted
  }
  Processor(QUEUE)(BenchProcessor);
  const method = effect ? 'write' : 'noop';
  const decorate = (name, m, options = {}) => Process(name, options)(BenchProcessor.prototype, m, Object.getOwnPropertyDescriptor(BenchProcessor.prototype, m));
  decorate(noopJob, method, transaction ? { transaction } : {});
  if (F.cron) decorate('tick', 'tick');

  let app = null;
  let sink = null;
  let adminApp = null;
  const background = [];
  let stopping = false;
  const telemetry = F.otel ? await otelWithSdk() : undefined;
  const boot = async (workers) => {
    class BenchModule {}
    Module({
      imports: [
        QueueModule.forRoot({
          connection: { connectionString: ctx.dbUrl, max: 10 },
          schema: SCHEMA,
          // The seed process (no workers) also names the pauses variant's other queues, for its QueueAdmin.
          queues: [
            { name: QUEUE, concurrency: ctx.concurrency, ...(prefetch !== undefined ? { prefetch } : {}), ...(directStart ? {} : { directStart }) },
            ...(F.pauses && !workers ? [HELD_QUEUE, TOGGLED_QUEUE] : []),
          ],
          workers,
          shutdownGraceMs: 2000,
          ...(preparedStatements ? {} : { preparedStatements }),
          ...(telemetry ? { telemetry } : {}),
          // `cron`: a schedule firing every second (6 fields, seconds first), its job on this queue under another name.
          ...(F.cron && workers ? { schedules: [{ key: 'bench-tick', cron: '* * * * * *', queue: QUEUE, name: 'tick' }] } : {}),
          // `retention`: finished jobs kept 1 s (the minimum), pruned every 100 ms (the minimum).
          ...(F.retention ? { retention: { done: 1000, cancelled: 1000, killed: 1000 }, pruneIntervalMs: 100 } : {}),
        }),
      ],
      providers: workers ? [BenchProcessor] : [],
    })(BenchModule);
    app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'], abortOnError: false });
    sink = app.get(getSinkToken(QUEUE));
    if (workers && F.events) {
      let seen = 0;
      for (const name of JOB_EVENTS) app.get(QueueEvents).on(name, () => void seen++);
    }
  };

  return {
    async setup() {
      await boot(false); // migrates
      if (F.pauses) {
        // The state of a queue that was paused once and resumed (its `queues` row, paused = false, which
        // the claim's pause check reads), and another queue paused for the whole run.
        const admin = app.get(QueueAdmin);
        await admin.pause(QUEUE, { reason: 'bench' });
        await admin.resume(QUEUE);
        await admin.pause(HELD_QUEUE, { reason: 'bench: held paused' });
      }
    },
    async seed(n) {
      // `cancels`: an extra job after every CANCEL_EVERY (data.c set), the ones the worker process cancels from the back.
      let extra = 0;
      for (let i = 0; i < n; i += 5000) {
        const jobs = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) {
          jobs.push({ name: noopJob, data: { i: j } });
          if (F.cancels && j % CANCEL_EVERY === CANCEL_EVERY - 1) jobs.push({ name: noopJob, data: { i: -1 - extra++ }, options: { metadata: { cancelTarget: true } } });
        }
        await sink.pushMany(jobs);
      }
      if (F.retention && n > 0) await seedFinishedOurs(ctx.dbUrl, SCHEMA, QUEUE, PRUNABLE_ROWS); // done a day ago: past retention
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
      if (F.pauses || F.cancels) await startOperator();
    },
    async startProducer() {
      if (!app) await boot(false);
    },
    push(data) {
      return sink.push(noopJob, data);
    },
    pushBatch(datas) {
      return sink.pushMany(datas.map((data) => ({ name: noopJob, data })));
    },
    sink: () => sink,
    async close() {
      stopping = true;
      await Promise.all(background);
      if (adminApp) await adminApp.close();
      if (app) await app.close();
      await effectsPool?.end();
    },
    settings:
      `QueueModule.forRoot: concurrency = N per process${prefetch !== undefined ? `, prefetch ${prefetch}` : " (prefetch 'auto': the default)"}, ` +
      (directStart
        ? 'directStart (the default: a push by the worker\'s own process into an idle worker is inserted claimed and starts when the INSERT returns; a push from another process is handed to an idle worker in the NOTIFY; others go by LISTEN/NOTIFY and a claim), '
        : 'directStart: false (every push goes INSERT, NOTIFY, claim: the path of a push from another process), ') +
      (preparedStatements ? '' : 'preparedStatements: false (every statement unnamed, as through a transaction pooler), ') +
      (transaction ? '@Process({ transaction: true }) (each attempt in a transaction committed with its fenced ack), ' : '') +
      (effect ? `a handler that inserts one row${transaction ? ' through job.client' : ' through a pool of its own (autocommit)'}, ` : '') +
      'pg pool max 10, pollIntervalMs 1000 (default), push/pushMany' +
      featureSettings(F),
  };

  /**
   * The operator of the `pauses` and `cancels` variants: QueueAdmin of a second application context
   * in the worker's process (producer-only, a pool of one connection of its own), running from the
   * worker's boot until close. A schedule owner of its own: with the owner of the worker's app,
   * its bootstrap would remove the `cron` variant's schedule, which it does not declare.
   */
  async function startOperator() {
    class OperatorModule {}
    Module({ imports: [QueueModule.forRoot({ connection: { connectionString: ctx.dbUrl, max: 1 }, schema: SCHEMA, queues: [QUEUE, TOGGLED_QUEUE], workers: false, migrate: false, scheduleOwner: 'bench-operator' })] })(OperatorModule);
    adminApp = await NestFactory.createApplicationContext(OperatorModule, { logger: ['error'], abortOnError: false });
    const admin = adminApp.get(QueueAdmin);
    if (F.pauses) {
      // Pause and resume another queue back to back: each writes its `queues` row (the table every
      // claim reads) and sends a control NOTIFY to every process; a resume also wakes the jobs channel.
      background.push(
        (async () => {
          for (let paused = false; !stopping; paused = !paused) await (paused ? admin.resume(TOGGLED_QUEUE) : admin.pause(TOGGLED_QUEUE, { reason: 'bench toggle' }));
          await admin.resume(TOGGLED_QUEUE);
        })(),
      );
    }
    if (F.cancels) {
      const c = new pg.Client({ connectionString: ctx.dbUrl });
      await c.connect();
      const { rows } = await c.query(`SELECT id FROM ${SCHEMA}.jobs WHERE queue = $1 AND status = 'pending' AND metadata ? 'cancelTarget' ORDER BY id DESC`, [QUEUE]);
      await c.end();
      // One cancel every CANCEL_SPACING_MS, newest target first: jobs that have not started yet.
      background.push(
        (async () => {
          for (const { id } of rows) {
            if (stopping) break;
            const t = performance.now();
            await admin.cancel(id);
            await sleep(CANCEL_SPACING_MS - (performance.now() - t));
          }
        })(),
      );
    }
  }
}

function featureSettings(F) {
  const parts = [];
  if (F.events) parts.push('a listener on every job event (QueueEvents.on)');
  if (F.otel) parts.push('openTelemetry() with an SDK (spans batched to a discarding exporter, metrics on)');
  if (F.schema) parts.push("payload schema: @Process(defineJob('noop', z.object({ i: z.number().int() }))) with zod 4, every push (the seed's pushMany too) validated, every claimed payload checked before the handler");
  if (F.pauses)
    parts.push(
      `pauses: the queue paused and resumed once before the run (its queues row, paused = false, read by every claim), "${HELD_QUEUE}" paused all the run, and "${TOGGLED_QUEUE}" (not served by the worker) paused and resumed back to back through QueueAdmin of a second app context with a connection of its own`,
    );
  if (F.cancels) parts.push(`cancels: one extra job after every ${CANCEL_EVERY} seeded, cancelled newest first (not yet started) through QueueAdmin.cancel of a second app context with a connection of its own, one every ${CANCEL_SPACING_MS} ms during the run`);
  if (F.cron) parts.push("cron: schedules [{ cron: '* * * * * *' (every second), queue: the same, name: 'tick' }], its job handled (not counted)");
  if (F.retention) parts.push(`retention: { done, cancelled, killed: 1000 ms }, pruneIntervalMs 100, with ${PRUNABLE_ROWS.toLocaleString('en')} finished rows past retention in the table at the start (the pruner deletes them, paced, during the burn-down, and the burn's own once 1 s old)`);
  return parts.length ? `; features: ${parts.join('; ')}` : '';
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
