import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createDatabase, PG_SETTINGS } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
let sent = 0, prep = 0;
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (q, ...rest) { if ((q?.text ?? '').includes('INSERT INTO')) sent = performance.now(); return orig.call(this, q, ...rest); };
const server = await startEmbeddedPostgres({ prefix: 'batch-', flags: [...PG_SETTINGS, 'shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=all'] });
const url = await createDatabase(server.url, 'b');
const sys = await (await import('./systems/nestjs-pg-queue.mjs')).open({ dbUrl: url, concurrency: 32, variant: {} });
await sys.setup();
await sys.startProducer();
const c = new pg.Client({ connectionString: url }); await c.connect(); await c.query('CREATE EXTENSION pg_stat_statements');
for (let r = 0; r < 4; r++) {
  await c.query('SELECT pg_stat_statements_reset()');
  const datas = Array.from({ length: 10000 }, (_, i) => ({ i }));
  const t0 = performance.now();
  await sys.pushBatch(datas);
  const t1 = performance.now();
  const s = (await c.query(`SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 50) q, round(total_exec_time::numeric, 1) e, round(total_plan_time::numeric,1) p FROM pg_stat_statements WHERE calls > 0 AND query NOT LIKE '%pg_stat%' ORDER BY total_exec_time DESC LIMIT 4`)).rows;
  console.log(`total ${(t1 - t0).toFixed(1)} ms, JS before send ${(sent - t0).toFixed(1)} ms`, JSON.stringify(s));
}
await c.end(); await sys.close(); await server.dispose(); process.exit(0);
