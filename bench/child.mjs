// One bench process: `node bench/child.mjs '<json config>'`. Talks to bench/run.mjs over IPC.
// Roles: seed (install the schema, insert jobs), burn (a worker process for the burn-down),
// pickup (worker and producer in one process, one clock), enqueue (producer only), txn.
import { performance } from 'node:perf_hooks';

const cfg = JSON.parse(process.argv[2]);
const now = () => performance.timeOrigin + performance.now(); // wall clock, sub-ms, shared with the parent
const send = (msg) => new Promise((resolve) => process.send(msg, resolve));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const messages = [];
let waiter = null;
process.on('message', (m) => {
  messages.push(m);
  if (waiter) waiter();
});
async function nextMessage(type) {
  for (;;) {
    const i = messages.findIndex((m) => m.type === type);
    if (i >= 0) return messages.splice(i, 1)[0];
    await new Promise((r) => (waiter = r));
    waiter = null;
  }
}

// BENCH_TRACE=1: count the statements each process sends (round trips per job), by first words.
const trace = new Map();
if (process.env.BENCH_TRACE) {
  // The `pg` the system's module loads: a peer's (modulePath, in bench/peers) resolves its own copy.
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  const { default: pg } = await import(cfg.modulePath ? pathToFileURL(createRequire(cfg.modulePath).resolve('pg')).href : 'pg');
  const orig = pg.Client.prototype.query;
  pg.Client.prototype.query = function (q, ...rest) {
    const text = typeof q === 'string' ? q : q?.text ?? '';
    const k = text.replace(/\s+/g, ' ').slice(0, 60);
    const e = trace.get(k) ?? { n: 0, ms: 0 };
    trace.set(k, e);
    e.n++;
    const t = performance.now();
    const end = () => (e.ms += performance.now() - t);
    const cb = rest.findIndex((a) => typeof a === 'function');
    if (cb >= 0) {
      const f = rest[cb];
      rest[cb] = (...a) => {
        end();
        return f(...a);
      };
      return orig.call(this, q, ...rest);
    }
    if (typeof q?.submit === 'function') return orig.call(this, q, ...rest);
    const r = orig.call(this, q, ...rest);
    r?.then?.(end, end);
    return r;
  };
}
const traceReport = () =>
  [...trace.entries()]
    .sort((a, b) => b[1].n - a[1].n)
    .slice(0, 8)
    .map(([k, e]) => `${String(e.n).padStart(7)} x ${(e.ms / e.n).toFixed(2).padStart(7)} ms  ${k}`)
    .join('\n');

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];

async function main() {
  const { open } = await import(cfg.modulePath ?? `./systems/${cfg.module}.mjs`); // modulePath: a peer's module in bench/peers/systems
  const sys = await open(cfg);
  try {
    if (cfg.role === 'seed') {
      const t0 = now();
      await sys.setup();
      if (cfg.finished) {
        if (!sys.seedFinished) throw new Error('no finished-row seeding for this system');
        const t = now();
        await sys.seedFinished(cfg.finished);
        await send({ type: 'log', text: `inserted ${cfg.finished} finished rows in ${((now() - t) / 1000).toFixed(1)} s` });
      }
      if (cfg.jobs) await sys.seed(cfg.jobs);
      if (cfg.dbUrl && cfg.analyze) {
        // ANALYZE (bench/run.mjs, unless --no-analyze): statistics of the seeded rows, as a table with traffic would have (a fresh
        // table's claims are otherwise planned on the planner's defaults).
        const { analyzeDatabase } = await import('./lib/db.mjs');
        await analyzeDatabase(cfg.dbUrl);
      }
      await send({ type: 'result', seedMs: now() - t0, settings: sys.settings });
    } else if (cfg.role === 'burn') {
      let open = false;
      let release;
      const gate = new Promise((r) => (release = r));
      let done = 0;
      let lastEnd = 0;
      await sys.startWorker(async () => {
        if (!open) await gate;
        done++;
        lastEnd = now();
      });
      await send({ type: 'ready' });
      await nextMessage('go');
      open = true;
      release();
      const timer = setInterval(() => process.send({ type: 'progress', done, lastEnd }), 100);
      await nextMessage('stop');
      clearInterval(timer);
      await send({ type: 'progress', done, lastEnd });
      const closing = now();
      await Promise.race([sys.close(), sleep(cfg.closeCapMs)]);
      const closeMs = now() - closing;
      if (process.env.BENCH_TRACE) await send({ type: 'log', text: `statements sent for ${done} jobs:\n${traceReport()}` });
      await send({ type: 'result', done, lastEnd, maxRssKB: process.resourceUsage().maxRSS, closeMs });
      return;
    } else if (cfg.role === 'pickup') {
      const n = cfg.pushes;
      const calledAt = new Array(n).fill(0);
      const startedAt = new Array(n).fill(0);
      let seen = 0;
      let allSeen;
      const all = new Promise((r) => (allSeen = r));
      await sys.startWorker(async (data) => {
        const t = now();
        if (startedAt[data.i] === 0) {
          startedAt[data.i] = t;
          if (++seen === n) allSeen();
        }
      });
      await sys.startProducer();
      await sleep(1500); // let the worker go idle
      const base = now();
      const pushes = [];
      for (let i = 0; i < n; i++) {
        const wait = base + i * cfg.spacingMs - now();
        if (wait > 0) await sleep(wait);
        calledAt[i] = now();
        pushes.push(sys.push({ i }));
        if (i % 50 === 49) process.send({ type: 'log', text: `${i + 1}/${n} pushes`, progress: true });
      }
      await Promise.all(pushes);
      await Promise.race([all, sleep(15_000)]);
      const lat = [];
      let missed = 0;
      for (let i = 0; i < n; i++) {
        if (startedAt[i] === 0) missed++;
        else lat.push(startedAt[i] - calledAt[i]);
      }
      lat.sort((a, b) => a - b);
      await send({
        type: 'result',
        missed,
        p50: quantile(lat, 0.5),
        p95: quantile(lat, 0.95),
        p99: quantile(lat, 0.99),
        max: lat[lat.length - 1],
      });
    } else if (cfg.role === 'enqueue') {
      await sys.startProducer();
      for (let i = 0; i < 50; i++) await sys.push({ warm: i }); // connections and prepared statements
      await sys.pushBatch([{ warm: -1 }, { warm: -2 }]);
      let t = now();
      for (let i = 0; i < cfg.single; i++) {
        await sys.push({ i });
        if (i % 1000 === 999) process.send({ type: 'log', text: `${i + 1}/${cfg.single} single pushes`, progress: true });
      }
      const singleMs = now() - t;
      // The same number of single pushes from CALLERS concurrent callers, each awaiting its own
      // (an HTTP handler each): what a queue does with pushes that arrive together.
      let next = 0;
      t = now();
      await Promise.all(
        Array.from({ length: cfg.callers }, async () => {
          while (next < cfg.single) await sys.push({ c: next++ });
        }),
      );
      const concurrentMs = now() - t;
      const batch = [];
      for (let i = 0; i < cfg.batch; i++) batch.push({ i });
      t = now();
      await sys.pushBatch(batch);
      const batchMs = now() - t;
      await send({ type: 'result', single: cfg.single / (singleMs / 1000), concurrent: cfg.single / (concurrentMs / 1000), batch: cfg.batch / (batchMs / 1000) });
    } else if (cfg.role === 'txn') {
      await send({ type: 'result', ...(await transactional(sys)) });
    } else if (cfg.role.startsWith('steady-')) {
      const { steadyRole } = await import('./steady-child.mjs'); // steady-worker, steady-producer (bench/lib/steady.mjs)
      await steadyRole(sys, cfg, { send, nextMessage, now, sleep, quantile });
      if (process.env.BENCH_TRACE) await send({ type: 'log', text: `${cfg.role}: statements sent:\n${traceReport()}` });
    }
  } finally {
    if (cfg.role !== 'burn') await Promise.race([sys.close(), sleep(10_000)]);
  }
}

/** A TypeORM transaction inserting one business row, with and without a push through its QueryRunner. */
async function transactional(sys) {
  await import('reflect-metadata');
  const { DataSource } = await import('typeorm');
  const ds = new DataSource({ type: 'postgres', url: cfg.dbUrl, poolSize: 10, logging: false });
  await ds.initialize();
  await ds.query('CREATE TABLE IF NOT EXISTS bench_users (id bigserial PRIMARY KEY, email text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
  await sys.startProducer();
  const sink = sys.sink();
  const one = async (i, withPush) => {
    const t = now();
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      const [row] = await qr.query('INSERT INTO bench_users (email) VALUES ($1) RETURNING id', [`u${i}@example.com`]);
      if (withPush) await sink.push('noop', { userId: row.id }, { queryRunner: qr });
      await qr.commitTransaction();
    } catch (e) {
      await qr.rollbackTransaction();
      throw e;
    } finally {
      await qr.release();
    }
    return now() - t;
  };
  for (let i = 0; i < 100; i++) await one(-i, i % 2 === 0);
  const without = [];
  const withPush = [];
  for (let i = 0; i < cfg.transactions; i++) {
    // Interleaved, so drift on a shared machine hits both sides alike.
    without.push(await one(i, false));
    withPush.push(await one(i, true));
  }
  await ds.destroy();
  without.sort((a, b) => a - b);
  withPush.sort((a, b) => a - b);
  const p50w = quantile(without, 0.5);
  const p50p = quantile(withPush, 0.5);
  return { withoutP50: p50w, withP50: p50p, addedP50: p50p - p50w };
}

main().then(
  () => process.exit(0),
  async (err) => {
    await send({ type: 'error', message: String(err?.stack ?? err) }).catch(() => undefined);
    process.exit(1);
  },
);
