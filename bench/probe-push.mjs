// `node bench/probe-push.mjs` (after `npm run build`): where a single push's time goes, on an embedded Postgres
// with the bench's settings. 1) 5,000 sequential pushes through this project's Nest app: pushes/s and CPU
// milliseconds per push in this process. 2) The round trip of a one-job INSERT in a tight loop, interleaved:
// our batch statement (insert-jobs.ts, used for one job too), the same columns as a one-row VALUES, and the
// raw loop's four-column insert.
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { Migrator } from '../dist/index.js';
import { insertJobsParams, insertJobsSql } from '../dist/db/sql/insert-jobs.js';
import { createDatabase, PG_SETTINGS } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';

const server = await startEmbeddedPostgres({ prefix: 'probe-push-', flags: PG_SETTINGS });
try {
  {
    const { open } = await import('./systems/nestjs-pg-queue.mjs');
    const sys = await open({ dbUrl: await createDatabase(server.url, 'push_app'), concurrency: 32 });
    await sys.setup();
    await sys.startProducer();
    for (let i = 0; i < 500; i++) await sys.push({ i });
    const N = 5000;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await sys.push({ i });
    const el = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    console.log(`push through the app: ${Math.round((N / el) * 1000)} pushes/s, ${((cpu.user + cpu.system) / 1000 / N).toFixed(3)} ms CPU per push`);
    await sys.close();
  }
  {
    const pool = new pg.Pool({ connectionString: await createDatabase(server.url, 'push_sql'), max: 1 });
    const S = 'pgqueue';
    await new Migrator(pool, S).migrate();
    const c = await pool.connect();
    const oneRow = `INSERT INTO ${S}.jobs (id, queue, name, payload, max_attempts, priority, run_at, metadata, idempotency_key)
VALUES ($1, $2, $3, $4::jsonb, $5, $6, coalesce($7::timestamptz, now() + coalesce($8::float8, 0) * interval '1 millisecond'), $9::jsonb, $10)`;
    const job = { name: 'noop', payload: '{"i":1}', maxAttempts: null, priority: 0, runAt: null, delayMs: null, metadata: '{}', idempotencyKey: null };
    const variants = {
      'ours (batch statement)': (id) => ({ name: 'batch', text: insertJobsSql(S), values: insertJobsParams('bench', [id], [job]) }),
      'ours as a one-row VALUES': (id) => ({ name: 'one', text: oneRow, values: [id, 'bench', 'noop', '{"i":1}', null, 0, null, null, '{}', null] }),
      'raw loop insert': (id) => ({ name: 'raw', text: `INSERT INTO ${S}.jobs (id, queue, name, payload) VALUES ($1, $2, 'noop', $3)`, values: [id, 'bench', '{"i":1}'] }),
    };
    const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    let seq = 0;
    for (let i = 0; i < 3000; i++) {
      for (const [k, q] of Object.entries(variants)) {
        const query = q('01' + String(++seq).padStart(24, '0'));
        const t0 = performance.now();
        await c.query(query);
        if (i >= 100) times[k].push(performance.now() - t0);
      }
    }
    c.release();
    await pool.end();
    for (const [k, t] of Object.entries(times)) {
      t.sort((a, b) => a - b);
      console.log(`one-job INSERT round trip, ${k.padEnd(25)} p50 ${t[t.length >> 1].toFixed(3)} ms, p90 ${t[Math.floor(t.length * 0.9)].toFixed(3)} ms`);
    }
  }
} finally {
  await server.dispose();
}
