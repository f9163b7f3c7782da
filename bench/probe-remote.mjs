// `node bench/probe-remote.mjs [system] [pushes]`: the pickup of a push from a producer-only process (another Node process,
// the same machine clock): push call to handler start, p50/p95/max over `pushes` (default 300) pushes 10 ms apart.
// The producer is this script forked with `producer` as its first argument.
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load = async (system, dbUrl) => {
  // `peer:<name>`: a peer's module, from bench/peers (run this script on Node 24 for those).
  const path = system.startsWith('peer:') ? `./peers/systems/${system.slice(5)}.mjs` : `./systems/${system}.mjs`;
  const sys = await (await import(new URL(path, import.meta.url).href)).open({ dbUrl, redisUrl: 'redis://127.0.0.1:6379', redisPrefix: 'probe_remote', concurrency: 32, variant: { claimers: 1, ...(process.env.PROBE_VARIANT ? JSON.parse(process.env.PROBE_VARIANT) : {}) } });
  return sys;
};
if (process.argv[2] === 'producer') {
  const [, , , system, dbUrl, n] = process.argv;
  const sys = await load(system, dbUrl);
  await sys.startProducer();
  process.send({ ready: true });
  await new Promise((r) => process.once('message', r));
  const calledAt = [];
  const base = now();
  const pushes = [];
  for (let i = 0; i < Number(n); i++) {
    const wait = base + i * 10 - now();
    if (wait > 0) await sleep(wait);
    calledAt[i] = now();
    pushes.push(sys.push({ i }));
  }
  await Promise.all(pushes);
  await new Promise((r) => process.send({ calledAt }, r));
  await sys.close();
  process.exit(0);
}
const system = process.argv[2] ?? 'nestjs-pg-queue';
const n = Number(process.argv[3] ?? 300);
const { startPostgres, createDatabase } = await import('./lib/db.mjs');
const server = await startPostgres(() => {});
const url = await createDatabase(server.url, 'probe_remote');
const sys = await load(system, url);
await sys.setup();
const startedAt = [];
let seen = 0;
let all;
const done = new Promise((r) => (all = r));
await sys.startWorker(async (data) => {
  startedAt[data.i] ??= now();
  if (++seen === n) all();
});
const child = fork(new URL(import.meta.url).pathname, ['producer', system, url, String(n)]);
await new Promise((r) => child.once('message', r));
await sleep(1500); // let the worker go idle
child.send({ go: true });
const { calledAt } = await new Promise((r) => child.once('message', r));
await Promise.race([done, sleep(15_000)]);
const lat = calledAt.map((t, i) => startedAt[i] - t).filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
console.log(`${system}: remote pickup p50 ${q(0.5)} ms, p95 ${q(0.95)}, max ${lat[lat.length - 1].toFixed(2)} (${lat.length}/${n} seen)`);
await sys.close();
await server.stop();
process.exit(0);
