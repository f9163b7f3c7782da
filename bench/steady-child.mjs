// The steady-state scenario's two processes (bench/lib/steady.mjs runs them; bench/child.mjs hands
// them the opened system). `steady-worker`: a worker process that records, at each handler's start,
// the time since the push call (the producer's wall clock travels in the job data as `t`, the phase
// as `p`). `steady-producer`: a producer-only process that, at each `go`, pushes the jobs due at each timer tick (one push, or one pushMany) at a
// fixed rate for a fixed time, open loop, and reports the phase.

/** Up to this many push calls in flight (each a single push or a batch of the pushes due); a push due while all are out waits and may fall behind schedule. */
export const MAX_IN_FLIGHT = 16;
/** The most pushes one call carries. */
const MAX_BATCH = 1_000;
/** A push issued this long after its due time counts as behind schedule. */
export const LATE_MS = 10;

export async function steadyRole(sys, cfg, { send, nextMessage, now, sleep, quantile }) {
  if (cfg.role === 'steady-worker') {
    const lat = []; // per phase
    const started = [];
    await sys.startWorker(async (data) => {
      const t = now();
      if (typeof data?.t !== 'number') return; // the producer's warm-up pushes
      (lat[data.p] ??= []).push(t - data.t);
      started[data.p] = (started[data.p] ?? 0) + 1;
    });
    await send({ type: 'ready' });
    const timer = setInterval(() => process.send({ type: 'progress', started }), 100);
    for (;;) {
      const m = await nextMessage('report'); // { phase } or { stop: true }
      if (m.stop) break;
      const l = (lat[m.phase] ?? []).sort((a, b) => a - b);
      lat[m.phase] = null;
      await send({
        type: 'phase',
        phase: m.phase,
        started: started[m.phase] ?? 0,
        p50: quantile(l, 0.5) ?? null,
        p90: quantile(l, 0.9) ?? null,
        p99: quantile(l, 0.99) ?? null,
        max: l.length ? l[l.length - 1] : null,
      });
    }
    clearInterval(timer);
    await send({ type: 'result' });
    return;
  }
  // steady-producer: at each go { phase, rate, durationMs }, push i is due at t0 + i / rate; pushes are
  // not awaited one by one, but at most MAX_IN_FLIGHT are out at once. Pushing stops at t0 + durationMs
  // (pushes still due then are not made).
  await sys.startProducer();
  for (let i = 0; i < 20; i++) await sys.push({ warm: i }); // connections and prepared statements
  await send({ type: 'ready' });
  for (;;) {
    const m = await nextMessage('go'); // { phase, rate, durationMs } or { stop: true }
    if (m.stop) break;
    await send({ type: 'phase', ...(await phase(sys, m, { send, now, sleep })) });
  }
  await send({ type: 'result' });
}

async function phase(sys, { phase: p, rate, durationMs }, { send, now, sleep }) {
  const total = Math.floor((rate * durationMs) / 1000);
  let issued = 0;
  let acked = 0;
  let inFlight = 0;
  let late = 0;
  let maxLagMs = 0;
  let failed = 0;
  let wake = null;
  const kick = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const progress = setInterval(() => process.send({ type: 'progress', phase: p, issued, acked, late }), 100);
  const t0 = now();
  const end = t0 + durationMs;
  for (;;) {
    const t = now();
    if (t >= end || issued >= total) break;
    const due = Math.min(total, Math.floor(((t - t0) * rate) / 1000) + 1);
    // Every push due by now goes out in one call (a batch when several are due: one producer process
    // cannot send tens of thousands of single INSERTs a second, a producer under load batches).
    if (issued < due && inFlight < MAX_IN_FLIGHT) {
      const call = now();
      const n = Math.min(due - issued, MAX_BATCH);
      for (let k = 0; k < n; k++) {
        const lag = call - (t0 + ((issued + k) * 1000) / rate);
        if (lag > LATE_MS) late++;
        if (lag > maxLagMs) maxLagMs = lag;
      }
      inFlight++;
      issued += n;
      const datas = Array.from({ length: n }, () => ({ t: call, p }));
      (n === 1 ? sys.push(datas[0]) : sys.pushBatch(datas)).then(
        () => {
          inFlight--;
          acked += n;
          kick();
        },
        () => {
          inFlight--;
          failed += n;
          kick();
        },
      );
      continue;
    }
    if (issued < due) {
      await new Promise((r) => (wake = r)); // every slot is out: wait for a push to return
    } else {
      // A timer tick (about 1 ms at the shortest) issues every push due by then: no busy wait.
      await sleep(Math.max(1, Math.min(t0 + (issued * 1000) / rate - now(), 50)));
    }
  }
  const stoppedAt = now();
  while (inFlight > 0) await new Promise((r) => (wake = r));
  clearInterval(progress);
  await send({ type: 'progress', phase: p, issued, acked, late });
  return { phase: p, target: total, issued, acked, failed, late, maxLagMs, pushMs: stoppedAt - t0, t0 };
}
