// The dashboard's API on a large table: `node bench/dashboard-large.mjs [rows]` (default 10,000,000;
// needs `npm run build` and DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test). Seeds
// that many finished jobs (a tenth killed, with two error shapes) plus 1,000 pending into a fresh
// schema, boots the queue module and the dashboard in a Nest app, and prints each route's median
// time over 7 requests. The schema is dropped at the end.
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { QueueModule } from '../dist/index.js';
import { QueueDashboardModule } from '../dist/dashboard/index.js';

const ROWS = Number(process.argv[2] ?? 10_000_000);
const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `dash_large_${process.pid}`;
const pool = new pg.Pool({ connectionString: url, max: 2 });

class BenchModule {}
Module({ imports: [QueueModule.forRoot({ connection: { connectionString: url, max: 4 }, schema, queues: ['big', 'other'], workers: false }), QueueDashboardModule.forRoot()] })(BenchModule);

const t0 = performance.now();
const app = await NestFactory.create(BenchModule, { logger: ['error'] });
await app.listen(0, '127.0.0.1');
const base = `http://127.0.0.1:${app.getHttpServer().address().port}/queues`;
try {
  const c = await pool.connect();
  await c.query('SET session_replication_role = replica');
  for (let done = 0; done < ROWS; done += 1_000_000) {
    const n = Math.min(1_000_000, ROWS - done);
    await c.query(
      `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, run_at, created_at, locked_by, done_at, last_error)
       SELECT upper(lpad(to_hex(g), 26, '0')), CASE WHEN g % 3 = 0 THEN 'other' ELSE 'big' END, 'x', jsonb_build_object('i', g, 'email', 'u' || g || '@example.com'),
              CASE WHEN g % 10 = 0 THEN 'killed' ELSE 'done' END, 1, now() - interval '2 hours', now() - interval '2 hours', 'old',
              now() - (g % 7200) * interval '1 second',
              CASE WHEN g % 10 = 0 THEN CASE WHEN g % 20 = 0 THEN 'Error: order ' || g || ' not found' || E'\\n    at Billing.charge (billing.ts:12:7)' ELSE 'Error: bank timeout' || E'\\n    at Bank.call (bank.ts:40:3)' END END
       FROM generate_series($1::bigint + 1, $1::bigint + $2::bigint) g`,
      [done, n],
    );
    process.stdout.write(`\rseeded ${(done + n).toLocaleString()} rows`);
  }
  await c.query('RESET session_replication_role');
  c.release();
  await pool.query(`INSERT INTO ${schema}.jobs (id, queue, name, payload) SELECT 'P' || lpad(g::text, 25, '0'), 'big', 'x', '{}' FROM generate_series(1, 1000) g`);
  await pool.query(`VACUUM ANALYZE ${schema}.jobs`);
  console.log(`\nseeded and analyzed in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const mid = lpad(Math.floor(ROWS / 2));
  const routes = [
    ['GET', '/api/overview'],
    ['GET', '/api/jobs?limit=50'],
    ['GET', '/api/jobs?queue=big&status=killed&limit=50'],
    [`GET`, `/api/jobs?queue=other&limit=50&after=${mid}`],
    ['GET', `/api/jobs?queue=big&limit=50&payloadMatches=${encodeURIComponent('$.email == "u4@example.com"')}`],
    ['GET', `/api/jobs/${lpad(12345)}`],
    ['GET', '/api/failures'],
    ['POST', '/api/bulk/retry', { filter: { queue: 'big', status: ['killed'] }, preview: true }],
  ];
  console.log(`\n${ROWS.toLocaleString()} finished rows + 1,000 pending; median of 7 requests each\nroute                                                               median ms   max ms`);
  for (const [method, path, body] of routes) {
    const times = [];
    let status = 0;
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      const r = await fetch(`${base}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
      await r.arrayBuffer();
      status = r.status;
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`${`${method} ${path}`.slice(0, 66).padEnd(68)}${times[3].toFixed(1).padStart(9)}${times[6].toFixed(1).padStart(9)}  (${status})`);
  }
} finally {
  await app.close();
  if (process.env.KEEP_SCHEMA) console.log(`kept schema ${schema}`);
  else await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
}

function lpad(g) {
  return g.toString(16).toUpperCase().padStart(26, '0');
}
