// `node bench/probe.mjs [system] [notify]` (notify: directStart off, the path of a push from another process): where the idle pickup latency goes (push call, INSERT, NOTIFY, claim, handler start), medians over 200 pushes.
// With this project's default (directStart) there is no NOTIFY and no claim: the handler starts after the INSERT's reply.
import pg from 'pg';
import { performance } from 'node:perf_hooks';
const now = () => performance.now();
const ev = [];
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (q, ...rest) {
  const text = typeof q === 'string' ? q : q?.text ?? '';
  const k = text.includes('INSERT INTO') ? 'insert' : text.includes("SET status = 'running'") ? 'claim' : null;
  if (!k) return orig.call(this, q, ...rest);
  const t = now();
  const cb = rest.findIndex((a) => typeof a === 'function');
  if (cb >= 0) {
    const f = rest[cb];
    rest[cb] = (...a) => { ev.push([k + '_sent', t], [k + '_done', now()]); return f(...a); };
    return orig.call(this, q, ...rest);
  }
  const r = orig.call(this, q, ...rest);
  r?.then?.(() => ev.push([k + '_sent', t], [k + '_done', now()]));
  return r;
};
const origEmit = pg.Client.prototype.emit;
pg.Client.prototype.emit = function (name, ...a) {
  if (name === 'notification') ev.push(['notify', now()]);
  return origEmit.call(this, name, ...a);
};
const { startPostgres, createDatabase } = await import('/work/main/bench/lib/db.mjs');
const server = await startPostgres(() => {});
const url = await createDatabase(server.url, 'probe');
const sys = await (await import('/work/main/bench/systems/' + (process.argv[2] ?? 'nestjs-pg-queue') + '.mjs')).open({ dbUrl: url, concurrency: 32, variant: { claimers: 1, ...(process.argv[3] === 'notify' ? { directStart: false } : {}) } });
await sys.setup();
const res = [];
let cur;
await sys.startWorker(async () => { ev.push(['handler', now()]); cur?.(); });
await sys.startProducer();
await new Promise((r) => setTimeout(r, 1500));
for (let i = 0; i < 200; i++) {
  ev.length = 0;
  const done = new Promise((r) => (cur = r));
  const t0 = now();
  await sys.push({ i });
  await done;
  await new Promise((r) => setTimeout(r, 10));
  const rel = Object.fromEntries(ev.map(([k, t]) => [k, +(t - t0).toFixed(3)]));
  res.push(rel);
}
const gaps = { 'call->insert_sent': ['start', 'insert_sent'], 'insert rtt': ['insert_sent', 'insert_done'], 'insert_sent->notify': ['insert_sent', 'notify'], 'notify->claim_sent': ['notify', 'claim_sent'], 'claim rtt': ['claim_sent', 'claim_done'], 'claim_done->handler': ['claim_done', 'handler'], 'insert_done->handler': ['insert_done', 'handler'], 'total': ['start', 'handler'] };
for (const [g, [a, b]] of Object.entries(gaps)) {
  const v = res.map((r) => (r[b] ?? NaN) - (a === 'start' ? 0 : r[a] ?? NaN)).filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
  console.log(g.padEnd(22), 'p50', v[v.length >> 1]?.toFixed(3), 'n', v.length);
}
const keys = [];
for (const k of keys) {
  const v = res.map((r) => r[k]).filter((x) => x !== undefined).sort((a, b) => a - b);
  console.log(k.padEnd(14), 'p50', v[v.length >> 1], 'n', v.length);
}
await sys.close();
await server.stop();
process.exit(0);
