import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { Migrator } from '../dist/index.js';
import { claimJobsSql } from '../dist/db/sql/claim-jobs.js';
import { completeJobsSql } from '../dist/db/sql/complete-jobs.js';
import { PG_SETTINGS } from '../bench/lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
import { COMPLETE } from '../bench/systems/raw-sql.mjs';

const server = await startEmbeddedPostgres({ prefix: 'ackv-', flags: PG_SETTINGS });
const pool = new pg.Pool({ connectionString: server.url, max: 2 });
const S = '"pgqueue"';
const B = 500;
const fresh = async (pending) => {
  await pool.query(`DROP SCHEMA IF EXISTS pgqueue CASCADE`);
  await new Migrator(pool, 'pgqueue').migrate();
  await pool.query(`INSERT INTO pgqueue.workers (worker_id, queue, lease_hash) VALUES ('w1', 'bench', 'x')`);
  await pool.query(`INSERT INTO pgqueue.jobs (id, queue, name, payload) SELECT '01' || lpad(g::text, 24, '0'), 'bench', 'noop', '{"i":1}' FROM generate_series(1, $1::int) g`, [pending]);
  await pool.query(`VACUUM ANALYZE pgqueue.jobs`);
};
const full = completeJobsSql(S);
const full7 = (rows) => [rows.map((x) => x.id), rows.map((x) => x.attempts), rows.map(() => 'w1'), rows.map(() => 'done'), rows.map(() => null), rows.map(() => null), rows.map(() => 0)];
const V = {
  ours: { text: full, vals: full7 },
  ours_prefilter: { text: full.replace('WHERE j.id = a.id', 'WHERE j.id = ANY($1::text[]) AND j.id = a.id'), vals: full7 },
  ours_noreturn: { text: full.replace(/RETURNING j.id$/, ''), vals: full7 },
  done2: {
    text: `UPDATE ${S}.jobs j SET status = 'done', done_at = now(), locked_at = NULL
FROM unnest($1::text[], $2::int[]) AS a(id, attempt)
WHERE j.id = a.id AND (j.status = 'running') IS TRUE AND j.locked_by = $3 AND j.attempts = a.attempt RETURNING j.id`,
    vals: (rows) => [rows.map((x) => x.id), rows.map((x) => x.attempts), 'w1'],
  },
  done_any: {
    text: `UPDATE ${S}.jobs j SET status = 'done', done_at = now(), locked_at = NULL
WHERE j.id = ANY($1::text[]) AND (j.status = 'running') IS TRUE AND j.locked_by = $3 AND j.attempts = ($2::int[])[array_position($1::text[], j.id)] RETURNING j.id`,
    vals: (rows) => [rows.map((x) => x.id), rows.map((x) => x.attempts), 'w1'],
  },
  raw: { text: COMPLETE, vals: (rows) => [rows.map((x) => x.id)] },
};
const claim = claimJobsSql(S);
try {
  const order = (process.argv[2] ?? Object.keys(V).join(',')).split(',');
  for (let rep = 0; rep < 2; rep++)
    for (const name of order) {
      const v = V[name];
      await fresh(60_000);
      const c = await pool.connect();
      let ta = 0, n = 0;
      for (;;) {
        const r = await c.query({ name: 'oc', text: claim, values: ['w1', 'bench', ['noop'], B, 30000] });
        if (r.rows.length === 0) break;
        const t = performance.now();
        await c.query({ name: 'a_' + name, text: v.text, values: v.vals(r.rows) });
        ta += performance.now() - t;
        n += r.rows.length;
      }
      c.release();
      console.log(`${name.padEnd(16)} ack ${(ta * 1000 / n).toFixed(1)} us/job`);
    }
} finally {
  await pool.end();
  await server.dispose();
}
