import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { Migrator } from '../dist/index.js';
import { claimJobsSql } from '../dist/db/sql/claim-jobs.js';
import { completeJobsSql } from '../dist/db/sql/complete-jobs.js';
import { PG_SETTINGS } from '../bench/lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
import { CLAIM, COMPLETE } from '../bench/systems/raw-sql.mjs';

const server = await startEmbeddedPostgres({ prefix: 'stmt-', flags: PG_SETTINGS });
const pool = new pg.Pool({ connectionString: server.url, max: 2 });
const S = 'pgqueue';
const B = Number(process.argv[2] ?? 500);
const fresh = async (pending) => {
  await pool.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`);
  await new Migrator(pool, S).migrate();
  await pool.query(`INSERT INTO ${S}.workers (worker_id, queue, lease_hash) VALUES ('w1', 'bench', 'x')`);
  await pool.query(`INSERT INTO ${S}.jobs (id, queue, name, payload) SELECT '01' || lpad(g::text, 24, '0'), 'bench', 'noop', '{"i":1}' FROM generate_series(1, $1::int) g`, [pending]);
  await pool.query(`VACUUM ANALYZE ${S}.jobs`);
};
const ours = { claim: claimJobsSql('"pgqueue"'), ack: completeJobsSql('"pgqueue"') };
try {
  for (const variant of (process.argv[3] ?? 'raw,ours,raw,ours').split(',')) {
    await fresh(100_000);
    const c = await pool.connect();
    let tc = 0, ta = 0, n = 0;
    for (;;) {
      let t = performance.now();
      let r;
      if (variant === 'raw') r = await c.query({ name: 'rc', text: CLAIM, values: ['w1', 'bench', B] });
      else r = await c.query({ name: 'oc', text: ours.claim, values: ['w1', 'bench', ['noop'], B, 30000] });
      tc += performance.now() - t;
      if (r.rows.length === 0) break;
      t = performance.now();
      if (variant === 'raw') await c.query({ name: 'ra', text: COMPLETE, values: [r.rows.map((x) => x.id)] });
      else await c.query({ name: 'oa', text: ours.ack, values: [r.rows.map((x) => x.id), r.rows.map((x) => x.attempts), r.rows.map(() => 'w1'), r.rows.map(() => 'done'), r.rows.map(() => null), r.rows.map(() => null), r.rows.map(() => 0)] });
      ta += performance.now() - t;
      n += r.rows.length;
    }
    c.release();
    console.log(`${variant} batch ${B}: claim ${(tc * 1000 / n).toFixed(1)} us/job, ack ${(ta * 1000 / n).toFixed(1)} us/job, total ${((tc + ta) * 1000 / n).toFixed(1)} -> ${Math.round(n / (tc + ta) * 1000)} jobs/s`);
  }
} finally {
  await pool.end();
  await server.dispose();
}
