import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { Migrator } from '../dist/index.js';
import { insertStartedJobSql } from '../dist/db/sql/insert-started-job.js';
import { PG_SETTINGS } from '../bench/lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';

const server = await startEmbeddedPostgres({ prefix: 'rtt-', flags: PG_SETTINGS });
const pool = new pg.Pool({ connectionString: server.url, max: 2 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await new Migrator(pool, 'pgqueue').migrate();
await pool.query(`INSERT INTO pgqueue.workers (worker_id, queue, lease_hash) VALUES ('w1', 'bench', 'x')`);
const S = '"pgqueue"';
let seq = 0;
const id = () => '01' + String(++seq).padStart(24, '0');
const FENCE = `EXISTS (SELECT 1 FROM ${S}.workers w WHERE w.worker_id = $9 AND w.queue = $2 AND w.last_seen > now() - $10 * interval '1 millisecond')`;
const vals = () => [id(), 'bench', 'noop', '{"i":1}', null, 0, '{}', null, 'w1', 30000];
const V = {
  select1: () => ({ name: 's1', text: 'SELECT 1' }),
  started: () => ({ name: 'st', text: insertStartedJobSql(S), values: vals() }),
  c1_where_ret: () => ({ name: 'c1', text: `INSERT INTO ${S}.jobs (id, queue, name, payload, max_attempts, priority, metadata, idempotency_key, status, attempts, locked_at, locked_by)
SELECT $1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, 'running', 1, now(), $9::text WHERE ${FENCE} RETURNING created_at`, values: vals() }),
  c2_where_noret: () => ({ name: 'c2', text: `INSERT INTO ${S}.jobs (id, queue, name, payload, max_attempts, priority, metadata, idempotency_key, status, attempts, locked_at, locked_by)
SELECT $1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, 'running', 1, now(), $9::text WHERE ${FENCE}`, values: vals() }),
  c3_epoch: () => ({ name: 'c3', text: `INSERT INTO ${S}.jobs (id, queue, name, payload, max_attempts, priority, metadata, idempotency_key, status, attempts, locked_at, locked_by)
SELECT $1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8, 'running', 1, now(), $9::text WHERE ${FENCE} RETURNING (extract(epoch FROM created_at) * 1000)::float8 AS created_ms`, values: vals() }),
  plain: () => ({ name: 'pl', text: `INSERT INTO ${S}.jobs (id, queue, name, payload, status, attempts, locked_at, locked_by) VALUES ($1, 'bench', 'noop', '{"i":1}', 'running', 1, now(), 'w1')`, values: [id()] }),
};
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1]; };
const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length * p)]; };
for (const trig of ['on']) {
  await pool.query(`ALTER TABLE pgqueue.jobs ${trig === 'on' ? 'ENABLE' : 'DISABLE'} TRIGGER jobs_notify_inserted`);
  const t = Object.fromEntries(Object.keys(V).map((k) => [k, []]));
  for (let i = 0; i < 500; i++) {
    for (const k of Object.keys(V)) {
      await sleep(10);
      const t0 = performance.now();
      await pool.query(V[k]());
      t[k].push(performance.now() - t0);
    }
  }
  console.log(`trigger ${trig}: ` + Object.entries(t).map(([k, a]) => `${k} p50 ${med(a.slice(20)).toFixed(3)} p90 ${q(a.slice(20), 0.9).toFixed(3)}`).join(' | '));
}
await pool.end();
await server.dispose();
