// `node bench/schedule-cost.mjs [--window=60000]`: what recurring jobs cost an idle app, in
// statements per minute (issue 17). A producer-only app (no workers: no other periodic query)
// declares the schedules; its pool counts what it sends over the window. Run after `npm run build`.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { QueueModule } from '../dist/index.js';
import { createDatabase, startPostgres } from './lib/db.mjs';

const WINDOW_MS = Number(process.argv.find((a) => a.startsWith('--window='))?.split('=')[1] ?? 60_000);
const log = (m) => process.stderr.write(`[schedule-cost] ${m}\n`);

async function measure(url, schema, schedules) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  let statements = 0;
  const query = pool.query.bind(pool);
  pool.query = (...args) => {
    statements++;
    return query(...args);
  };
  class CostModule {}
  Module({ imports: [QueueModule.forRoot({ pool, schema, workers: false, queues: ['cron'], schedules })] })(CostModule);
  const app = await NestFactory.createApplicationContext(CostModule, { logger: ['error'] });
  const from = statements;
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const perMinute = Math.round(((statements - from) * 60_000) / WINDOW_MS);
  await app.close();
  await pool.end();
  return perMinute;
}

const server = await startPostgres(log);
try {
  const url = await createDatabase(server.url, 'schedule_cost');
  const daily = await measure(url, 'cost_daily', [{ key: 'nightly', cron: '0 3 * * *', queue: 'cron', name: 'report' }]);
  log(`one daily schedule: ${daily} statements a minute`);
  const ten = await measure(url, 'cost_ten', Array.from({ length: 10 }, (_, i) => ({ key: `daily-${i}`, cron: `0 ${i} * * *`, queue: 'cron', name: 'report' })));
  log(`ten daily schedules: ${ten} statements a minute`);
  const second = await measure(url, 'cost_second', [{ key: 'tick', cron: '* * * * * *', queue: 'cron', name: 'tick' }]);
  log(`one every-second schedule: ${second} statements a minute (60 jobs enqueued)`);
  console.log(JSON.stringify({ windowMs: WINDOW_MS, daily, tenDaily: ten, everySecond: second }));
} finally {
  await server.stop();
}
