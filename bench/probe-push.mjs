// `node bench/probe-push.mjs` (after `npm run build`): where a single push's time goes, on an embedded Postgres
// with the bench's settings. 1) 5,000 sequential pushes through this project's Nest app, by default and with
// directStart: false, interleaved: pushes/s and CPU milliseconds per push in this process. 2) The round trip of a one-job INSERT in a tight loop, interleaved:
// our batch statement (insert-jobs.ts, used for one job too), the same columns as a one-row VALUES, and the
// raw loop's four-column insert, and the hand-off statement with no worker ready.
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { Migrator } from '../dist/index.js';
import { insertJobsParams, insertJobsSql } from '../dist/db/sql/insert-jobs.js';
import { insertHandedJobSql } from '../dist/db/sql/ready-workers.js';
import { createDatabase, PG_SETTINGS } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';

const server = await startEmbeddedPostgres({ prefix: 'probe-push-', flags: PG_SETTINGS });
try {
  {
    // This project's default against directStart: false (no hand-off: a plain INSERT), both producer-only (no
    // worker anywhere, so no hand-off can succeed), in alternating blocks of 500 pushes.
    const { open } = await import('./systems/nestjs-pg-queue.mjs');
    const systems = {};
    for (const [k, variant] of [['default', {}], ['directStart: false', { directStart: false }]]) {
      const sys = await open({ dbUrl: await createDatabase(server.url, `push_app_${Object.keys(systems).length}`), concurrency: 32, variant });
      await sys.setup();
      await sys.startProducer();
      for (let i = 0; i < 500; i++) await sys.push({ i });
      systems[k] = { sys, ms: 0, cpu: 0, n: 0 };
    }
    for (let round = 0; round < 10; round++) {
      for (const s of Object.values(systems)) {
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        for (let i = 0; i < 500; i++) await s.sys.push({ i });
        s.ms += performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        s.cpu += (cpu.user + cpu.system) / 1000;
        s.n += 500;
      }
    }
    for (const [k, s] of Object.entries(systems)) {
      console.log(`push through the app, ${k.padEnd(18)}: ${Math.round((s.n / s.ms) * 1000)} pushes/s, ${(s.cpu / s.n).toFixed(3)} ms CPU per push`);
      await s.sys.close();
    }
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
      // What a push outside a transaction sends when this process's worker cannot start it (src/db/sql/ready-workers.ts), with no worker ready.
      'hand-off, none ready': (id) => ({ name: 'handed', text: insertHandedJobSql(S), values: [id, 'bench', 'noop', '{"i":1}', null, 0, '{}', null, 30000, `${S}.jobs`, null] }),
      'raw loop insert': (id) => ({ name: 'raw', text: `INSERT INTO ${S}.jobs (id, queue, name, payload) VALUES ($1, $2, 'noop', $3)`, values: [id, 'bench', '{"i":1}'] }),
    };
    // The hand-off statement reads the pause row of the queue: as in an app, where the queue's row exists.
    await c.query(`INSERT INTO ${S}.queues (name) VALUES ('bench') ON CONFLICT DO NOTHING`);
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
      console.log(`one-job INSERT round trip, ${k.padEnd(26)} p50 ${t[t.length >> 1].toFixed(3)} ms, p90 ${t[Math.floor(t.length * 0.9)].toFixed(3)} ms`);
    }
  }
} finally {
  await server.dispose();
}
