// `node bench/explain-stats.mjs [--rows=10000000]`: the plans of the incident stats on a big table
// (issue 16, item 8). Seeds a schema with --rows jobs (95% done, 4% pending over three priorities
// and two queues, 1% killed, 50 running), then prints EXPLAIN (ANALYZE, BUFFERS) of the lag and
// stale-lease queries. Uses DATABASE_URL, else an embedded Postgres.
import pg from 'pg';
import { Migrator } from '../dist/db/migrator.js';
import { oldestDueSql, staleRunningSql } from '../dist/db/sql/admin.js';
import { startPostgres } from './lib/db.mjs';

const ROWS = Number(process.argv.find((a) => a.startsWith('--rows='))?.split('=')[1] ?? 10_000_000);
const log = (m) => process.stderr.write(`[explain] ${m}\n`);
const server = await startPostgres(log);
const pool = new pg.Pool({ connectionString: server.url, max: 2 });
pool.on('error', () => undefined);
try {
  await pool.query('DROP SCHEMA IF EXISTS explain_stats CASCADE');
  await new Migrator(pool, 'explain_stats').migrate();
  const c = await pool.connect();
  try {
    await c.query('SET session_replication_role = replica');
    log(`seeding ${ROWS} rows`);
    await c.query(
      `INSERT INTO explain_stats.jobs (id, queue, name, payload, status, attempts, priority, run_at, created_at, done_at, locked_at, locked_by)
       SELECT lpad(g::text, 26, '0'), CASE WHEN g % 2 = 0 THEN 'emails' ELSE 'reports' END, 'noop', '{}',
              CASE WHEN g % 100 < 95 THEN 'done' WHEN g % 100 < 99 THEN 'pending' ELSE 'killed' END,
              1, g % 3, now() - (g % 86400) * interval '1 second', now() - interval '1 day',
              CASE WHEN g % 100 < 95 OR g % 100 = 99 THEN now() - interval '1 hour' END, NULL, NULL
       FROM generate_series(1, $1::int) g`,
      [ROWS],
    );
    await c.query(
      `INSERT INTO explain_stats.jobs (id, queue, name, payload, status, attempts, locked_at, locked_by)
       SELECT 'R' || lpad(g::text, 25, '0'), 'emails', 'noop', '{}', 'running', 1, now(), 'gone' FROM generate_series(1, 50) g`,
    );
  } finally {
    c.release();
  }
  log('VACUUM ANALYZE');
  await pool.query('VACUUM ANALYZE explain_stats.jobs');
  const explain = async (title, sql, params) => {
    const { rows } = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params);
    console.log(`\n## ${title}\n\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
  };
  await explain('lag of queue "emails" (oldestDueSql)', oldestDueSql('explain_stats'), ['emails']);
  await explain('stale running leases (staleRunningSql)', staleRunningSql('explain_stats'), [10_000]);
  await pool.query('DROP SCHEMA explain_stats CASCADE');
} finally {
  await pool.end();
  await server.stop();
}
