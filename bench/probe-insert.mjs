import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Migrator } from '../dist/index.js';
import { insertJobsSql } from '../dist/db/sql/insert-jobs.js';
import { createDatabase, PG_SETTINGS } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
const server = await startEmbeddedPostgres({ prefix: 'ins-', flags: PG_SETTINGS });
const url = await createDatabase(server.url, 'b');
const pool = new pg.Pool({ connectionString: url, max: 2 });
await new Migrator(pool, 'pgqueue').migrate();
const S = '"pgqueue"';
// `node bench/probe-insert.mjs`: one INSERT of 10,000 jobs with payloads as jsonb[] (the earlier form) vs as one JSON array (insertJobsSql).
const ARRAYS = `INSERT INTO ${S}.jobs (id, queue, name, payload, max_attempts, priority, run_at, metadata, idempotency_key)
SELECT t.id, $1, t.name, t.payload, t.max_attempts, t.priority,
       coalesce(t.run_at, now() + coalesce(t.delay_ms, 0) * interval '1 millisecond'),
       t.metadata, t.idempotency_key
FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::int[], $6::int[], $7::timestamptz[], $8::float8[], $9::jsonb[], $10::text[])
  AS t(id, name, payload, max_attempts, priority, run_at, delay_ms, metadata, idempotency_key)`;
const ZIP = `INSERT INTO ${S}.jobs (id, queue, name, payload, max_attempts, priority, run_at, metadata, idempotency_key)
SELECT t.id, $1, t.name, t.payload, t.max_attempts, t.priority,
       coalesce(t.run_at, now() + coalesce(t.delay_ms, 0) * interval '1 millisecond'),
       t.metadata, t.idempotency_key
FROM ROWS FROM (unnest($2::text[]), unnest($3::text[]), jsonb_array_elements($4::jsonb), unnest($5::int[]), unnest($6::int[]), unnest($7::timestamptz[]), unnest($8::float8[]), jsonb_array_elements($9::jsonb), unnest($10::text[]))
  AS t(id, name, payload, max_attempts, priority, run_at, delay_ms, metadata, idempotency_key)`;
let seq = 0;
for (let r = 0; r < 5; r++) {
  for (const mode of ['arrays', 'zip']) {
    const n = 10000;
    const ids = [], names = [], payloads = [], ma = [], pr = [], ra = [], dl = [], md = [], keys = [];
    for (let i = 0; i < n; i++) { ids.push('x' + String(++seq).padStart(25, '0')); names.push('noop'); payloads.push(JSON.stringify({ i })); ma.push(null); pr.push(0); ra.push(null); dl.push(null); md.push('{}'); keys.push(null); }
    const t0 = performance.now();
    if (mode === 'arrays') await pool.query({ name: 'a', text: ARRAYS, values: ['q', ids, names, payloads, ma, pr, ra, dl, md, keys] });
    else await pool.query({ name: 'z', text: insertJobsSql(S), values: ['q', ids, names, `[${payloads.join(',')}]`, ma, pr, ra, dl, `[${md.join(',')}]`, keys] });
    console.log(mode.padEnd(8), (performance.now() - t0).toFixed(1), 'ms');
  }
}
await pool.end(); await server.dispose(); process.exit(0);
