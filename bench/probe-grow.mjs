// `node bench/probe-grow.mjs`: a worker warmed up on an empty table, then a burst of 100,000 jobs (autovacuum off, no ANALYZE): per-second drain rate. Shows what a generic plan made on a small table costs once it has grown (see src/db/plan-size-class.ts).
import { performance } from 'node:perf_hooks';
import { createDatabase, PG_SETTINGS } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
const server = await startEmbeddedPostgres({ prefix: 'grow-', flags: [...PG_SETTINGS, 'autovacuum=off'] });
const url = await createDatabase(server.url, 'grow');
const sys = await (await import('./systems/nestjs-pg-queue.mjs')).open({ dbUrl: url, concurrency: 32, variant: {} });
await sys.setup();
let done = 0;
await sys.startWorker(async () => { done++; });
await sys.startProducer();
const W = Number(process.env.WARMN ?? 200); for (let i = 0; i < W; i++) { await sys.push({ i }); await new Promise((r) => setTimeout(r, 5)); if (i % 20 === 0) await sys.pushBatch(Array.from({ length: 40 }, (_, j) => ({ j }))); }
while (done < W + Math.ceil(W / 20) * 40) await new Promise((r) => setTimeout(r, 10));
const N = 100_000;
for (let i = 0; i < N; i += 5000) await sys.pushBatch(Array.from({ length: 5000 }, (_, j) => ({ j })));
const t0 = performance.now();
let last = 0;
while (done - W - Math.ceil(W / 20) * 40 < N && performance.now() - t0 < 60_000) {
  await new Promise((r) => setTimeout(r, 1000));
  console.log(`${Math.round((performance.now() - t0) / 1000)}s: ${done - W - Math.ceil(W / 20) * 40 - last} jobs in the last second`);
  last = done - W - Math.ceil(W / 20) * 40;
}
console.log(`drained ${done - W - Math.ceil(W / 20) * 40} of ${N} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
await sys.close();
await server.dispose();
process.exit(0);
