// `npm run bench:ops`: what the operator verbs cost the workers (issue 16). Two measurements, each
// the claim throughput of a running worker (jobs done per second in a fixed window) without and
// with the operation running beside it:
//   - retryMany of 1,000,000 killed jobs (in another queue, so the worker's rate is the claims');
//   - pruning 1,000,000 finished rows of the worker's own queue (RetentionService).
// Options: --rows=N (default 1,000,000), --window=MS (default 8000), --write (bench/results/operations.json).
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { getSinkToken, Process, Processor, QueueAdmin, QueueModule, RetentionService } from '../dist/index.js';
import { createDatabase, serverVersion, startPostgres } from './lib/db.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const ROWS = Number(flag('rows') ?? 1_000_000);
const WINDOW_MS = Number(flag('window') ?? 8000);
const WRITE = args.includes('--write');
const log = (m) => process.stderr.write(`[ops-bench] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class WorkProcessor {
  noop() {
    return undefined;
  }
}
Processor('work')(WorkProcessor);
Process('noop')(WorkProcessor.prototype, 'noop', Object.getOwnPropertyDescriptor(WorkProcessor.prototype, 'noop'));

async function boot(url) {
  class OpsBenchModule {}
  Module({
    imports: [
      QueueModule.forRoot({
        connection: { connectionString: url, max: 10 },
        queues: ['work'],
        // Pruned by hand during the measurement, not by the timer.
        retention: { done: 3_600_000 },
        pruneIntervalMs: 3_600_000,
      }),
    ],
    providers: [WorkProcessor],
  })(OpsBenchModule);
  return NestFactory.createApplicationContext(OpsBenchModule, { logger: ['error'] });
}

/** Rows as history: inserted with the NOTIFY trigger off (they are not jobs to run). */
async function seed(pool, sql) {
  const c = await pool.connect();
  try {
    await c.query('SET session_replication_role = replica');
    await c.query(sql);
  } finally {
    c.release();
  }
  await pool.query('VACUUM ANALYZE pgqueue.jobs');
}

async function doneCount(pool) {
  return (await pool.query(`SELECT count(*)::int AS n FROM pgqueue.jobs WHERE queue = 'work' AND status = 'done' AND done_at > now() - interval '1 hour'`)).rows[0].n;
}

/**
 * Jobs done per second by the worker over WINDOW_MS, from a backlog big enough to last it, with
 * `beside()` (the operation) started once the worker is at full speed. Resolves to the rate and
 * whether the operation was still running when the window closed.
 */
async function rate(pool, sink, beside) {
  for (let i = 0; i < 400_000; i += 10_000) await sink.pushMany(Array.from({ length: 10_000 }, () => ({ name: 'noop', data: {} })));
  await sleep(500); // the worker is at full speed
  let running = false;
  const op = beside ? ((running = true), beside().finally(() => (running = false))) : null;
  const a = await doneCount(pool);
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const b = await doneCount(pool);
  const perSec = Math.round(((b - a) * 1000) / (performance.now() - t0));
  const coveredWindow = running;
  // Drain the rest, so the next window starts from the same state.
  await pool.query(`DELETE FROM pgqueue.jobs WHERE queue = 'work' AND status = 'pending'`);
  for (;;) {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pgqueue.jobs WHERE queue = 'work' AND status = 'running'`);
    if (rows[0].n === 0) break;
    await sleep(100);
  }
  // The deleted backlog left dead entries in the claim index: vacuum them, or the next window's
  // claims walk them (what autovacuum does in time on a live system).
  await op;
  await pool.query('VACUUM pgqueue.jobs');
  return { perSec, coveredWindow, op };
}

async function main() {
  const server = await startPostgres(log);
  try {
    const url = await createDatabase(server.url, 'ops_bench');
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    const app = await boot(url);
    const sink = app.get(getSinkToken('work'));
    const admin = app.get(QueueAdmin);

    log(`seeding ${ROWS} killed jobs in queue "archive"`);
    await seed(
      pool,
      `INSERT INTO pgqueue.jobs (id, queue, name, payload, status, attempts, max_attempts, run_at, created_at, done_at, last_error)
       SELECT '00K0' || lpad(g::text, 22, '0'), 'archive', 'noop', '{}', 'killed', 3, 3, now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', 'Error: boom'
       FROM generate_series(1, ${ROWS}) g`,
    );
    const baseRetry = (await rate(pool, sink)).perSec;
    log(`claims without the bulk retry: ${baseRetry} jobs/s`);
    let retried = null;
    const withRetry = await rate(pool, sink, async () => {
      const started = performance.now();
      const r = await admin.retryMany({ queue: 'archive', status: 'killed' });
      retried = { ...r, ms: Math.round(performance.now() - started) };
    });
    await withRetry.op;
    const duringRetry = withRetry.perSec;
    log(`claims during retryMany of ${retried.count} jobs (${retried.ms} ms, ${withRetry.coveredWindow ? 'running through the whole window' : 'ended within the window'}): ${duringRetry} jobs/s`);
    await pool.query(`DELETE FROM pgqueue.jobs WHERE queue = 'archive'`);

    log(`seeding ${ROWS} finished jobs (two days old) in queue "work"`);
    await seed(
      pool,
      `INSERT INTO pgqueue.jobs (id, queue, name, payload, status, attempts, run_at, created_at, done_at)
       SELECT '00D0' || lpad(g::text, 22, '0'), 'work', 'noop', '{}', 'done', 1, now() - interval '2 days', now() - interval '2 days', now() - interval '2 days'
       FROM generate_series(1, ${ROWS}) g`,
    );
    const basePrune = (await rate(pool, sink)).perSec;
    log(`claims without pruning: ${basePrune} jobs/s`);
    let pruneMs = null;
    const withPrune = await rate(pool, sink, async () => {
      const started = performance.now();
      await app.get(RetentionService).pruneNow();
      pruneMs = Math.round(performance.now() - started);
    });
    await withPrune.op;
    const duringPrune = withPrune.perSec;
    const left = (await pool.query(`SELECT count(*)::int AS n FROM pgqueue.jobs WHERE done_at < now() - interval '1 day'`)).rows[0].n;
    log(`claims during the prune of ${ROWS - left} rows (${pruneMs} ms, ${withPrune.coveredWindow ? 'running through the whole window' : 'ended within the window'}): ${duringPrune} jobs/s`);

    const result = {
      date: new Date().toISOString(),
      postgres: await serverVersion(url),
      node: process.version,
      rows: ROWS,
      windowMs: WINDOW_MS,
      retry: { baseline: baseRetry, during: duringRetry, ratio: +(duringRetry / baseRetry).toFixed(2), retried: retried.count, ms: retried.ms, coveredWindow: withRetry.coveredWindow },
      prune: { baseline: basePrune, during: duringPrune, ratio: +(duringPrune / basePrune).toFixed(2), pruned: ROWS - left, ms: pruneMs, coveredWindow: withPrune.coveredWindow },
    };
    console.log(JSON.stringify(result, null, 2));
    if (WRITE) writeFileSync(new URL('./results/operations.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
    await app.close();
    await pool.end();
  } finally {
    await server.stop();
  }
}

await main();
