// `node bench/probe-cpu.mjs [prefetch] [jobs] [system]` (after `npm run build`): where the CPU of a burn-down goes.
// Seeds `jobs` no-op jobs (default 100,000) on an embedded Postgres with the bench's settings, drains
// them with a worker in this process (concurrency 32), and reports jobs/s, this process's CPU per job,
// and the Postgres processes' CPU per job (from /proc). `system` is a module of bench/systems (default
// nestjs-pg-queue, with `prefetch`, default auto; `graphile-worker` runs 0.17 with its localQueue, as in
// the bench), so one command measures a peer's cost per job beside ours.
// `peer:graphile-worker` runs the bench's graphile-worker 0.18 module (on Node 24:
// `scripts/node-builds/node_modules/node-24/bin/node bench/probe-cpu.mjs auto 100000 peer:graphile-worker`).
// PROBE_ANALYZE=1: ANALYZE after seeding (the claims planned with statistics, as `bench/run.mjs` does unless given --no-analyze).
// PROBE_SQL=<statements>: run on the seeded database before the drain (an experiment: drop an index, change a setting).
// PROBE_STATEMENTS=1: load pg_stat_statements and print the drain's statements by server time per job.
// PROBE_FLAGS='<setting>=<value> ...': more server settings (say, auto_explain's); PROBE_LOG=<file>: the server's log.
// PROBE_CPU_PROF=<file>: also write a V8 CPU profile of the drain alone (not the seeding) to that file.
// PROBE_HEAP_PROF=<file>: a sampling heap profile of the drain's allocations (collected ones included), and
// the bytes allocated per job by allocation site are printed (the top 25).
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { analyzeDatabase, PG_SETTINGS, queryOnce } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';

const prefetchArg = process.argv[2] ?? 'auto';
const prefetch = prefetchArg === 'auto' ? undefined : Number(prefetchArg); // undefined: the default ('auto')
const N = Number(process.argv[3] ?? 100_000);
const system = process.argv[4] ?? 'nestjs-pg-queue';
// `peer:<name>`: a peer's module from bench/peers (graphile-worker 0.18, pg-boss 12: run this script on Node 24).
const { open } = await import(system.startsWith('peer:') ? `./peers/systems/${system.slice(5)}.mjs` : `./systems/${system}.mjs`);
const ours = system === 'nestjs-pg-queue';
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

const statements = Boolean(process.env.PROBE_STATEMENTS);
const server = await startEmbeddedPostgres({
  prefix: 'probe-cpu-',
  flags: [
    ...PG_SETTINGS,
    ...(statements ? ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track_planning=on'] : []),
    ...(process.env.PROBE_FLAGS ? process.env.PROBE_FLAGS.split(' ') : []),
  ],
  onLog: process.env.PROBE_LOG ? (text) => appendFileSync(process.env.PROBE_LOG, text) : undefined,
});
try {
  const ctx = { dbUrl: server.url, concurrency: 32, variant: ours ? (prefetch === undefined ? {} : { prefetch }) : { claimers: 1 } };
  const seeder = await open(ctx);
  await seeder.setup();
  await seeder.seed(N);
  await seeder.close();
  if (process.env.PROBE_ANALYZE) {
    // Statistics of the seeded backlog, as `bench/run.mjs` gives every system.
    await analyzeDatabase(server.url);
  }
  // An experiment on the seeded database (say, dropping an index to see what it costs per job).
  // One statement at a time: VACUUM cannot run in the implicit transaction of a multi-statement query.
  const experiment = (process.env.PROBE_SQL ?? '').split(';').filter((t) => t.trim());
  if (experiment.length > 0) await queryOnce(server.url, ...experiment);
  if (statements) await queryOnce(server.url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements', 'SELECT pg_stat_statements_reset()');
  const sys = await open(ctx); // a fresh instance for the worker, as the bench's worker processes are
  let done = 0;
  let finished;
  const all = new Promise((r) => (finished = r));
  let t0 = 0;
  let cpu0;
  let pg0 = 0;
  const profile = process.env.PROBE_CPU_PROF;
  const heapProfile = process.env.PROBE_HEAP_PROF;
  const session = profile || heapProfile ? new Session() : null;
  if (session) {
    session.connect();
    if (profile) await session.post('Profiler.enable');
    if (heapProfile) await session.post('HeapProfiler.enable');
  }
  await sys.startWorker(() => {
    if (done === 0) {
      if (profile) void session.post('Profiler.start');
      if (heapProfile) void session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
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
  if (profile) writeFileSync(profile, JSON.stringify((await session.post('Profiler.stop')).profile));
  if (heapProfile) {
    const { profile: heap } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(heapProfile, JSON.stringify(heap));
    printAllocationSites(heap, N);
  }
  const us = (ms) => ((ms * 1000) / N).toFixed(1);
  console.log(
    `${ours ? `prefetch ${prefetchArg}` : system}: ${Math.round((N / wallMs) * 1000)} jobs/s over ${N}; per job: wall ${us(wallMs)} us, ` +
      `worker CPU ${us((cpu.user + cpu.system) / 1000)} us (user ${us(cpu.user / 1000)}), Postgres CPU ${us(pgMs)} us`,
  );
  await sys.close();
  if (statements) await printStatements(server.url, N);
} finally {
  await server.dispose();
}

/** Bytes allocated per job by the function that allocated them (self), from a sampling heap profile. */
function printAllocationSites(heap, jobs) {
  const bySite = new Map();
  let total = 0;
  const walk = (node) => {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    const bytes = node.selfSize;
    total += bytes;
    bySite.set(key, (bySite.get(key) ?? 0) + bytes);
    for (const c of node.children) walk(c);
  };
  walk(heap.head);
  console.log(`allocated: ${(total / jobs).toFixed(0)} bytes per job (sampled)`);
  for (const [k, b] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(b / jobs).toFixed(0).padStart(7)} B/job  ${k}`);
}

/** The drain's statements by server time (execution + planning), per job. */
async function printStatements(url, jobs) {
  const { rows } = await queryOnce(
    url,
    `SELECT calls, rows, total_exec_time AS exec, total_plan_time AS plan, plans, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS q
     FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 12`,
  );
  for (const r of rows) {
    const per = (ms) => ((ms * 1000) / jobs).toFixed(2).padStart(6);
    console.log(`${per(r.exec)} us exec ${per(r.plan)} us plan /job  calls ${String(r.calls).padStart(7)} plans ${String(r.plans).padStart(6)} rows ${String(r.rows).padStart(7)}  ${r.q}`);
  }
}
