// `node bench/explain.mjs [pending] [finished] [churn]`: EXPLAIN (ANALYZE, BUFFERS) of this project's
// claim and ack statements (the exact SQL from dist/) on a table with `pending` queued jobs and
// `finished` done rows, with acks of 32 and of 1,000 jobs. For profiling; not part of `npm run bench`.
import pg from 'pg';
import { Migrator } from '../dist/index.js';
import { claimJobsSql } from '../dist/db/sql/claim-jobs.js';
import { completeJobsSql } from '../dist/db/sql/complete-jobs.js';
import { createDatabase, startPostgres } from './lib/db.mjs';
import { seedFinishedOurs } from './lib/our-schema.mjs';

const pending = Number(process.argv[2] ?? 20_000);
const finished = Number(process.argv[3] ?? 0);
const server = await startPostgres(console.log);
try {
  const url = await createDatabase(server.url, 'bench_explain');
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await new Migrator(pool, 'pgqueue').migrate();
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
  // The proposed ack: the same statement, plus `j.id = ANY($1)` so the rows are found through the
  // primary key instead of by a scan of every entry (live or dead) of jobs_running_idx.
  const ackByPk = ack
    .replace('WHERE j.id = a.id', 'WHERE j.id = ANY($1::text[]) AND j.id = a.id')
    .replace("j.status = 'running'", "(j.status || '') = 'running'");
  // The proposed claim: the same rows, found through the primary key whatever the plan.
  const claimByPk = claim.replace(/FROM \(\n([\s\S]*?)\n\) c\nWHERE j.id = c.id/, 'WHERE j.id = ANY(ARRAY(\n$1\n))');
  const worker = 'w1';
  const ackValues = (rows) => [
    rows.map((x) => x.id),
    rows.map((x) => x.attempts),
    rows.map(() => worker),
    rows.map(() => 'done'),
    rows.map(() => null),
    rows.map(() => null),
    rows.map(() => 0),
  ];
  // Churn as a burn-down does (claim 32, ack 32, no vacuum in between), timing each statement.
  const churn = Number(process.argv[4] ?? 10_000);
  for (const [label, sql] of [['current ack', ack], ['ack by primary key', ackByPk]]) {
    let claimMs = 0;
    let ackMs = 0;
    for (let done = 0; done < churn / 2; ) {
      let t = performance.now();
      const r = await pool.query({ name: 'c', text: claim, values: [worker, 'bench', ['noop'], 32] });
      claimMs += performance.now() - t;
      t = performance.now();
      await pool.query({ name: label, text: sql, values: ackValues(r.rows) });
      ackMs += performance.now() - t;
      done += r.rows.length;
    }
    const batches = churn / 2 / 32;
    console.log(`${label}: ${churn / 2} jobs in batches of 32: claim ${(claimMs / batches).toFixed(3)} ms, ack ${(ackMs / batches).toFixed(3)} ms per statement`);
  }
  for (const n of [32, 1000]) {
    // Claim n (for real, so the ack has running rows), then explain the ack of those n.
    const r = await pool.query(claim, [worker, 'bench', ['noop'], n]);
    await show(`claim of ${n} (the next ${n}), current statement`, claim, [worker, 'bench', ['noop'], n]);
    if (n === 32) await show(`claim of ${n} (the next ${n}), proposed: WHERE j.id = ANY(ARRAY(SELECT ...))`, claimByPk, [worker, 'bench', ['noop'], n]);
    const ids = r.rows.map((x) => x.id);
    await show(`ack of ${ids.length} (status done), current statement`, ack, ackValues(r.rows));
    // The rows are done now; put them back to running for the second explain.
    await pool.query(`UPDATE pgqueue.jobs SET status = 'running', locked_by = $2 WHERE id = ANY($1)`, [ids, worker]);
    await show(`ack of ${ids.length} (status done), by primary key`, ackByPk, ackValues(r.rows));
  }
  await pool.end();
} finally {
  await server.stop();
}
