// `node bench/probe-cpu.mjs [prefetch] [jobs]` (after `npm run build`): where the CPU of a burn-down goes.
// Seeds `jobs` no-op jobs (default 100,000) on an embedded Postgres with the bench's settings, drains
// them with this project's worker in this process (concurrency 32, `prefetch` default 500), and
// reports jobs/s, this process's CPU per job, and the Postgres processes' CPU per job (from /proc).
// PROBE_CPU_PROF=<file>: also write a V8 CPU profile of the drain alone (not the seeding) to that file.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { PG_SETTINGS } from '../bench/lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
import { open } from '../bench/systems/nestjs-pg-queue.mjs';

const prefetch = Number(process.argv[2] ?? 500);
const N = Number(process.argv[3] ?? 100_000);
const TICK_MS = 1000 / 100; // USER_HZ

/** utime + stime of every process named `postgres`, in ms. */
function postgresCpuMs() {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const f = stat.slice(close + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks * TICK_MS;
}

import pgmod from 'pg';
const counts = new Map(); let counting = false;
const orig = pgmod.Client.prototype.query;
pgmod.Client.prototype.query = function (q, ...rest) { if (counting) { const t = (typeof q === 'string' ? q : q?.text ?? '').replace(/\s+/g, ' ').slice(0, 50); const v = typeof q === 'object' && q?.values?.[0]; const e = counts.get(t) ?? { n: 0, rows: 0 }; e.n++; if (Array.isArray(v)) e.rows += v.length; counts.set(t, e); } return orig.call(this, q, ...rest); };
const server = await startEmbeddedPostgres({ prefix: 'probe-cpu-', flags: PG_SETTINGS });
try {
  const sys = await open({ dbUrl: server.url, concurrency: 32, variant: { prefetch } });
  await sys.setup();
  await sys.seed(N);
  await sys.close();
  let done = 0;
  let finished;
  const all = new Promise((r) => (finished = r));
  let t0 = 0;
  let cpu0;
  let pg0 = 0;
  const profile = process.env.PROBE_CPU_PROF;
  const session = profile ? new Session() : null;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
  }
  await sys.startWorker(() => {
    if (done === 0) {
      if (session) void session.post('Profiler.start');
      counting = true;
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      pg0 = postgresCpuMs();
    }
    if (++done === N) finished();
  });
  await all;
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const pgMs = postgresCpuMs() - pg0;
  if (session) writeFileSync(profile, JSON.stringify((await session.post('Profiler.stop')).profile));
  const us = (ms) => ((ms * 1000) / N).toFixed(1);
  console.log(
    `prefetch ${prefetch}: ${Math.round((N / wallMs) * 1000)} jobs/s over ${N}; per job: wall ${us(wallMs)} us, ` +
      `worker CPU ${us((cpu.user + cpu.system) / 1000)} us (user ${us(cpu.user / 1000)}), Postgres CPU ${us(pgMs)} us`,
  );
  console.log(counts);
  await sys.close();
} finally {
  await server.dispose();
}
