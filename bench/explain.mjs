// `node bench/explain.mjs [pending] [finished] [churn]`: EXPLAIN (ANALYZE, BUFFERS) of this project's
// claim and ack statements (the exact SQL from dist/) on a table with `pending` queued jobs and
// `finished` done rows, with acks of 32 and of 1,000 jobs. For profiling; not part of `npm run bench`.
import pg from 'pg';
import { Migrator } from '../dist/index.js';
import { claimJobsSql } from '../dist/db/sql/claim-jobs.js';
import { completeJobsSql } from '../dist/db/sql/complete-jobs.js';
import { createDatabase, startPostgres } from './lib/db.mjs';
import { doneAckParams, seedFinishedOurs } from './lib/our-schema.mjs';
import { performance } from 'node:perf_hooks';

const pending = Number(process.argv[2] ?? 20_000);
const finished = Number(process.argv[3] ?? 0);
const server = await startPostgres(console.log);
try {
  const url = await createDatabase(server.url, 'bench_explain');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await new Migrator(pool, 'pgqueue').migrate();
  // The claim is fenced on a fresh heartbeat of its worker.
  await pool.query(`INSERT INTO pgqueue.workers (worker_id, queue, lease_hash) VALUES ('w1', 'bench', 'x')`);
  if (finished) await seedFinishedOurs(url, 'pgqueue', 'bench', finished);
  await pool.query(
    `INSERT INTO pgqueue.jobs (id, queue, name, payload) SELECT '1' || lpad(g::text, 25, '0'), 'bench', 'noop', '{}' FROM generate_series(1, $1::int) g`,
    [pending],
  );
  await pool.query('VACUUM ANALYZE pgqueue.jobs');
  // The pool's statements are named (prepared): after five runs Postgres may switch to a generic
  // plan, so each statement is explained both ways.
  let prepared = 0;
  const show = async (title, text, values) => {
    await showPlan(`${title} [custom plan]`, text, values, false);
    await showPlan(`${title} [generic plan, as a prepared statement may get]`, text, values, true);
  };
  const showPlan = async (title, text, values, generic) => {
    const client = await pool.connect();
    let r;
    try {
      await client.query('BEGIN');
      if (generic) {
        const name = `p${++prepared}`;
        await client.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
        await client.query({ name, text, values }); // prepares it
        await client.query('ROLLBACK');
        await client.query('BEGIN');
        await client.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
        const lits = values.map((v) => client.escapeLiteral(Array.isArray(v) ? `{${v.map((x) => (x === null ? 'NULL' : `"${x}"`)).join(',')}}` : String(v)));
        r = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE ${name}(${lits.join(', ')})`);
      } else {
        r = await client.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, values);
      }
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    const plan = r.rows.map((x) => x['QUERY PLAN'].replace(/'\{[^}]{200,}\}'/g, "'{…}'"));
    console.log(`\n=== ${title}\n${plan.join('\n')}`);
  };
  const claim = claimJobsSql('"pgqueue"');
  const ack = completeJobsSql('"pgqueue"');
  const worker = 'w1';
  const LEASE_MS = 60_000;
  const claimValues = (n) => [worker, 'bench', ['noop'], n, LEASE_MS];
  // Churn as a burn-down does (claim 32, ack 32, no vacuum in between), timing each statement.
  const churn = Number(process.argv[4] ?? 10_000);
  let claimMs = 0;
  let ackMs = 0;
  let batches = 0;
  for (let done = 0; done < churn / 2; batches++) {
    let t = performance.now();
    const r = await pool.query({ name: 'c', text: claim, values: claimValues(32) });
    claimMs += performance.now() - t;
    if (r.rows.length === 0) break;
    t = performance.now();
    await pool.query({ name: 'a', text: ack, values: doneAckParams(r.rows, worker) });
    ackMs += performance.now() - t;
    done += r.rows.length;
  }
  console.log(`churn: ${batches} batches of 32: claim ${(claimMs / batches).toFixed(3)} ms, ack ${(ackMs / batches).toFixed(3)} ms per statement`);
  for (const n of [32, 1000]) {
    // Claim n (for real, so the ack has running rows), then explain the ack of those n.
    const r = await pool.query(claim, claimValues(n));
    await show(`claim of ${n} (the next ${n})`, claim, claimValues(n));
    await show(`ack of ${r.rows.length} (status done)`, ack, doneAckParams(r.rows, worker));
  }
  await pool.end();
} finally {
  await server.stop();
}
