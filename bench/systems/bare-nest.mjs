// The memory baseline for the worker's peak RSS: a bare Nest application context whose one module
// provides a pg.Pool (max 10, as the queue's), and no queue. Its "burn-down" is `SELECT 1`s, one per
// job of the burn-down (P.burnJobs), over 32 concurrent callers (the burn's concurrency), so
// the pool's connections, buffers and parsers are as warm as a worker's. bench/run.mjs runs it as the
// one-process burn-down (its queries count as the jobs); the report shows only its peak RSS.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';

const POOL = 'PG_POOL';

export async function open(ctx) {
  let app = null;
  let pool = null;
  let stopped = false;
  const boot = async () => {
    class BareModule {}
    Module({
      providers: [{ provide: POOL, useFactory: () => new pg.Pool({ connectionString: ctx.dbUrl, max: 10 }) }],
    })(BareModule);
    app = await NestFactory.createApplicationContext(BareModule, { logger: ['error'], abortOnError: false });
    pool = app.get(POOL);
  };
  return {
    async setup() {},
    async seed() {}, // nothing to queue: the queries are made in the burn process
    async startWorker(handler) {
      await boot();
      await pool.query('SELECT 1');
      // 32 callers, each: a query, then the bench's handler (which holds them at the gate until "go"),
      // until close: the burn-down stops them after as many queries as it has jobs (P.burnJobs).
      for (let c = 0; c < ctx.concurrency; c++) {
        void (async () => {
          while (!stopped) {
            await pool.query('SELECT 1');
            await handler({});
          }
        })().catch(() => undefined); // the pool ends at close while callers may be waiting: nothing to report
      }
    },
    async startProducer() {
      await boot();
    },
    async close() {
      stopped = true;
      await app?.close();
      await pool?.end();
    },
    settings: `NestFactory.createApplicationContext of one module providing a pg.Pool (max 10), no queue; SELECT 1s over ${ctx.concurrency} concurrent callers, as many as the burn-down's jobs: the memory baseline (peak RSS only)`,
  };
}
