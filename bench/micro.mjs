// `node bench/micro.mjs [modes]`: this project's claim/ack SQL in a bare loop (no Nest, no worker) on an
// embedded Postgres with pg_stat_statements, against the raw-SQL loop: jobs/s, statement latency, plan and
// execution time per statement. For profiling; not part of `npm run bench`.
// Modes: raw, rawn (named), ours, oursn (named), custom, generic, nofence, lanes, split, splitn, tx, txn, x4, b1,
// slim, v, tiny (plans made on a tiny table, then the table grows). Env: N (jobs, default 20,000), NOVAC=1 (no
// VACUUM ANALYZE after the insert), AV=off (autovacuum off), EXPLAIN=1 / EXPLAING=1 (plans at statement 300),
// PGLOG=1 (server log to /tmp/pglog.txt), WARM / BIG (tiny mode sizes).
import pg from 'pg';
import pgutils from 'pg/lib/utils.js';
import { performance } from 'node:perf_hooks';
import { Migrator } from '../dist/index.js';
import { claimJobsSql } from '../dist/db/sql/claim-jobs.js';
import { completeJobsSql } from '../dist/db/sql/complete-jobs.js';
import { ackAndClaimSql } from '../dist/db/sql/ack-and-claim.js';
import { createDatabase, PG_SETTINGS } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
import { CLAIM, COMPLETE } from './systems/raw-sql.mjs';
import { doneAckParams } from './lib/our-schema.mjs';

import { writeFileSync } from 'node:fs';
const pglog = [];
process.on('exit', () => { if (pglog.length) writeFileSync('/tmp/pglog.txt', pglog.join('\n')); });
const N = Number(process.env.N ?? 20_000);
const B = 32;
const server = await startEmbeddedPostgres({ prefix: 'micro-', flags: [...PG_SETTINGS, 'shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track_planning=on', 'autovacuum=' + (process.env.AV ?? 'on'), ...(process.env.PGLOG ? ['log_min_duration_statement=0'] : [])], onLog: process.env.PGLOG ? (m) => pglog.push(String(m)) : undefined });
server.stop = server.dispose;
const S = 'pgqueue';
const W = 'w1';
async function pgss(pool) {
  const r = await pool.query(`SELECT calls, plans, round(mean_plan_time::numeric, 3) AS plan, round(mean_exec_time::numeric, 3) AS exec, round((shared_blks_hit::numeric / calls), 0) AS hits, wal_records / calls AS walrec, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS q FROM pg_stat_statements WHERE calls > 100 ORDER BY calls DESC LIMIT 6`);
  for (const x of r.rows) console.log(`   pgss calls=${x.calls} plans=${x.plans} plan=${x.plan} exec=${x.exec} hits=${x.hits} wal=${x.walrec} ${x.q}`);
}

async function fresh(name) {
  const url = await createDatabase(server.url, name);
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  await new Migrator(pool, S).migrate();
  let seq = 0;
  const ids = [];
  for (let i = 0; i < N; i++) ids.push('01' + String(++seq).padStart(24, '0'));
  await pool.query(`INSERT INTO ${S}.jobs (id, queue, name, payload) SELECT t, 'bench', 'noop', '{}' FROM unnest($1::text[]) t`, [ids]);
  if (!process.env.NOVAC) await pool.query(`VACUUM ANALYZE ${S}.jobs`);
  await pool.query(`INSERT INTO ${S}.workers (worker_id, queue, lease_hash) VALUES ($1, 'bench', 'x')`, [W]);
  await pool.query('SELECT pg_stat_statements_reset()');
  return pool;
}

let cpu0;
function stats(name, times, t0, jobs) {
  const cu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.floor(p * (times.length - 1))].toFixed(2);
  const el = performance.now() - t0;
  console.log(`${name.padEnd(28)} ${Math.round((jobs / el) * 1000).toString().padStart(6)} jobs/s  stmts=${times.length} p50=${q(0.5)} p90=${q(0.9)} max=${q(1)} ms cpu=${((cu.user + cu.system) / 1000 / (performance.now() - t0) * 100).toFixed(0)}%`);
}

async function raw(named) {
  const pool = await fresh('m_raw' + (named ? 'n' : ''));
  const c = await pool.connect();
  const times = [];
  const t0 = performance.now(); cpu0 = process.cpuUsage();
  let done = 0;
  for (;;) {
    if (process.env.EXPLAIN && times.length === 600) {
      const e = await c.query({ text: 'EXPLAIN (ANALYZE, BUFFERS, WAL) ' + CLAIM, values: [W, 'bench', B] });
      console.log(e.rows.map((x) => x['QUERY PLAN']).join('\n'));
    }
    let t = performance.now();
    const r = await c.query(named ? { name: 'c', text: CLAIM, values: [W, 'bench', B] } : { text: CLAIM, values: [W, 'bench', B] });
    times.push(performance.now() - t);
    if (!r.rows.length) break;
    t = performance.now();
    await c.query(named ? { name: 'd', text: COMPLETE, values: [r.rows.map((x) => x.id)] } : { text: COMPLETE, values: [r.rows.map((x) => x.id)] });
    times.push(performance.now() - t);
    done += r.rows.length;
  }
  stats('raw' + (named ? ' named' : ''), times, t0, done);
  await pgss(pool);
  c.release();
  await pool.end();
}

async function ours(label, sql, { named = false, setup, tx = false, batch = B, lanes = 1 } = {}) {
  const parts = [];
  const pool = await fresh('m_' + label.replace(/\W/g, '_'));
  const times = [];
  const t0 = performance.now(); cpu0 = process.cpuUsage();
  let done = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
  const c = await pool.connect();
  if (setup) await c.query(setup);
  let acks = [];
  for (;;) {
    const t = performance.now();
    const vals = [
      ...doneAckParams(acks, W),
      W,
      'bench',
      ['noop'],
      batch,
      60000,
    ];
    if (process.env.EXPLAING && times.length === 300) {
      await c.query(`PREPARE gp(text[], int[], text[], text[], jsonb[], text[], float8[], text, text, text[], int, int) AS ${sql}`);
      await c.query('SET plan_cache_mode = force_generic_plan');
      const lit = vals.map((v) => { const p = pgutils.prepareValue(v); return p === null ? 'NULL' : c.escapeLiteral(p); });
      const e = await c.query(`EXPLAIN (ANALYZE, BUFFERS) EXECUTE gp(${lit.join(', ')})`);
      console.log(e.rows.map((x) => x['QUERY PLAN']).join('\n'));
      await c.query('RESET plan_cache_mode');
    }
    if (process.env.EXPLAIN && times.length === 300) {
      const e = await c.query({ text: 'EXPLAIN (ANALYZE, BUFFERS, WAL, VERBOSE) ' + sql, values: vals });
      console.log(e.rows.map((x) => x['QUERY PLAN']).join('\n'));
    }
    if (tx) await c.query('BEGIN');
    const t1 = performance.now();
    const r = await c.query(named ? { name: 'x', text: sql, values: vals } : { text: sql, values: vals });
    const t2 = performance.now();
    if (tx) { await c.query('COMMIT'); parts.push([t1 - t, t2 - t1, performance.now() - t2]); }
    times.push(performance.now() - t);
    const claimed = r.rows.filter((x) => !x.acked);
    done += r.rows.length - claimed.length;
    acks = claimed;
    if (!claimed.length) break;
  }
  if (named) console.log('   prepared:', JSON.stringify((await c.query('SELECT name, generic_plans, custom_plans FROM pg_prepared_statements')).rows));
  c.release();
  }));
  stats(label, times, t0, done);
  await pgss(pool);
  if (tx) { for (let k = 0; k < 3; k++) { const v = parts.map((p) => p[k]).sort((a, b) => a - b); console.log('  part', k, 'p50', v[v.length >> 1].toFixed(3)); } }
  await pool.end();
}

async function split(label, claimSql, completeSql, named, setup) {
  const pool = await fresh('m_' + label.replace(/\W/g, '_'));
  const c = await pool.connect();
  if (setup) await c.query(setup);
  const ct = [], dt = [];
  const t0 = performance.now(); cpu0 = process.cpuUsage();
  let done = 0;
  for (;;) {
    let t = performance.now();
    const q1 = { text: claimSql, values: [W, 'bench', ['noop'], B, 60000] };
    if (named) q1.name = 'c';
    const r = await c.query(q1);
    ct.push(performance.now() - t);
    if (!r.rows.length) break;
    const acks = r.rows;
    t = performance.now();
    const q2 = { text: completeSql, values: doneAckParams(acks, W) };
    if (named) q2.name = 'd';
    const d = await c.query(q2);
    dt.push(performance.now() - t);
    done += d.rowCount;
  }
  stats(label + ' claim', ct, t0, done);
  stats(label + ' complete', dt, t0, done);
  await pgss(pool);
  c.release();
  await pool.end();
}

async function tiny(label, sql, setup) {
  const url = await createDatabase(server.url, 'm_tiny' + label.replace(/\W/g, '_'));
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await new Migrator(pool, S).migrate();
  await pool.query(`INSERT INTO ${S}.workers (worker_id, queue, lease_hash) VALUES ($1, 'bench', 'x')`, [W]);
  const c = await pool.connect();
  if (setup) await c.query(setup);
  let seq = 0;
  const insert = async (n) => {
    const ids = [];
    for (let i = 0; i < n; i++) ids.push('01' + String(++seq).padStart(24, '0'));
    await pool.query(`INSERT INTO ${S}.jobs (id, queue, name, payload) SELECT t, 'bench', 'noop', '{}' FROM unnest($1::text[]) t`, [ids]);
  };
  const cycle = async (acks, batch) => {
    const vals = [...doneAckParams(acks, W), W, 'bench', ['noop'], batch, 60000];
    const r = await c.query({ name: 'x', text: sql, values: vals });
    return r.rows.filter((x) => !x.acked);
  };
  // warm up on a tiny table: the prepared statement's plans are made here
  if (process.env.WARM) {
    await pool.query(`INSERT INTO ${S}.jobs (id, queue, name, payload, status) SELECT '00' || lpad(g::text, 24, '0'), 'bench', 'noop', '{"i": 1}', 'done' FROM generate_series(1, $1::int) g`, [Number(process.env.WARM)]);
    console.log('   warm-up table pages:', (await pool.query(`SELECT pg_relation_size('${S}.jobs') / 8192 AS p`)).rows[0].p);
  }
  let acks = [];
  for (let i = 0; i < 12; i++) { await insert(2); acks = await cycle(acks, 16); }
  await cycle(acks, 16);
  console.log('   after warm-up:', JSON.stringify((await c.query('SELECT generic_plans, custom_plans FROM pg_prepared_statements')).rows));
  await insert(Number(process.env.BIG ?? 100000));
  const t0 = performance.now();
  let done = 0;
  acks = [];
  for (;;) {
    const claimed = await cycle(acks, 16);
    done += acks.length;
    acks = claimed;
    if (!claimed.length) break;
    if (performance.now() - t0 > 20000) { console.log('   (stopped at 20 s)'); break; }
  }
  console.log(label.padEnd(28), Math.round((done / (performance.now() - t0)) * 1000), 'jobs/s after the table grew (no ANALYZE)');
  c.release();
  await pool.end();
}

const which = process.argv.slice(2);
process.on('unhandledRejection', (e) => { console.error('UNHANDLED', e); });
try {
  for (let round = 0; round < 2; round++) {
    if (!which.length || which.includes('raw')) await raw(false);
    if (!which.length || which.includes('rawn')) await raw(true);
    if (!which.length || which.includes('ours')) await ours('ours ack+claim', ackAndClaimSql(S));
    if (!which.length || which.includes('oursn')) await ours('ours ack+claim named', ackAndClaimSql(S), { named: true });
    if (!which.length || which.includes('custom')) await ours('ours named custom', ackAndClaimSql(S), { named: true, setup: 'SET plan_cache_mode = force_custom_plan' });
    if (which.includes('lanes')) { await ours('2 lanes x16', ackAndClaimSql(S), { lanes: 2, batch: 16 }); await ours('2 lanes x16 named', ackAndClaimSql(S), { lanes: 2, batch: 16, named: true }); await ours('2 lanes x32', ackAndClaimSql(S), { lanes: 2, batch: 32 }); await ours('1 lane x64', ackAndClaimSql(S), { lanes: 1, batch: 64 }); }
    if (which.includes('generic')) { await ours('ours named generic', ackAndClaimSql(S), { named: true, setup: 'SET plan_cache_mode = force_generic_plan' }); await ours('2 lanes x16 generic', ackAndClaimSql(S), { lanes: 2, batch: 16, named: true, setup: 'SET plan_cache_mode = force_generic_plan' }); }
    if (which.includes('splitg')) await split('split generic', claimJobsSql(S), completeJobsSql(S), true, 'SET plan_cache_mode = force_generic_plan');
    if (which.includes('v')) {
      const base = ackAndClaimSql(S);
      const f = "AND j.status = 'running' AND";
      if (!base.includes(f)) throw new Error('pattern');
      await ours('v istrue', base.replace(f, "AND (j.status = 'running') IS TRUE AND"));
      const g = 'WHERE j.id = ANY($1::text[]) AND j.id = a.id';
      if (!base.includes(g)) throw new Error('pattern g');
      await ours('v istrue noany', base.replace(f, "AND (j.status = 'running') IS TRUE AND").replace(g, 'WHERE j.id = a.id'));
    }
    if (which.includes('slim')) {
      const doneOnly = `WITH acked AS (
UPDATE ${S}.jobs j SET status = 'done', done_at = now(), result = a.result, locked_at = NULL
FROM unnest($1::text[], $2::int[], $3::text[], $5::jsonb[]) AS a(id, attempt, locked_by, result)
WHERE j.id = a.id AND (j.status = 'running') IS TRUE AND j.locked_by = a.locked_by AND j.attempts = a.attempt AND $4::text[] IS NOT NULL AND $6::text[] IS NOT NULL AND $7::float8[] IS NOT NULL
RETURNING j.id
), claimed AS (
${claimJobsSql(S, 8)}
)
SELECT id, name, payload, attempts, max_attempts, priority, run_at, created_at, metadata, idempotency_key, false AS acked FROM claimed
UNION ALL
SELECT id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true FROM acked`;
      await ours('slim done-only named', doneOnly, { named: true });
      await ours('full named', ackAndClaimSql(S), { named: true });
    }
    if (which.includes('tiny')) { await tiny('generic (default)', ackAndClaimSql(S)); await tiny('force_custom_plan', ackAndClaimSql(S), 'SET plan_cache_mode = force_custom_plan'); await tiny('enable_seqscan off', ackAndClaimSql(S), 'SET enable_seqscan = off'); }
    if (which.includes('x4')) await ours('named x4', ackAndClaimSql(S), { named: true, batch: 4 });
    if (which.includes('b1')) {
      await ours('named x1', ackAndClaimSql(S), { named: true, batch: 1 });
      await ours('named x4', ackAndClaimSql(S), { named: true, batch: 4 });
      await ours('named x128', ackAndClaimSql(S), { named: true, batch: 128 });
    }
    if (which.includes('split')) await split('split', claimJobsSql(S), completeJobsSql(S), false);
    if (which.includes('splitn')) await split('split named', claimJobsSql(S), completeJobsSql(S), true);
    if (which.includes('tx')) await ours('ours tx', ackAndClaimSql(S), { tx: true });
    if (which.includes('txn')) await ours('ours tx named', ackAndClaimSql(S), { tx: true, named: true });
    if (!which.length || which.includes('nofence')) {
      const sql = ackAndClaimSql(S).replace(/AND EXISTS \([\s\S]*?\n    \)/, 'AND $12::int IS NOT NULL');
      await ours('ours no fence', sql);
    }
  }
} catch (e) { console.error('FAILED', e.message); } finally {
  await server.stop();
}
