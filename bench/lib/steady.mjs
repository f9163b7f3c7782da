// The steady-state scenario (bench/run.mjs, scenario key `steady`): one worker process running, and
// a producer-only process pushing at a fixed rate (what is due at each tick in one call) (open loop, bench/steady-child.mjs)
// for P.steadyMs, at each fraction of P.steadyRates of the system's own one-process burn-down rate.
// One fresh database, one worker and one producer process per system; the rates in turn (the second
// over the first one's finished jobs). Measured: push call → handler start
// (the producer's wall clock in the job data, read by the worker: both processes on one machine),
// the achieved push rate, the pushes that fell behind schedule, and the backlog (pushes called but
// not started) sampled each second.

/**
 * Whether the backlog stayed bounded: all pushed jobs started within 1 s of the last push, or the
 * backlog's max over the last window (5 s, or half the run if shorter) is at most twice its max over
 * the first window plus a slack of 50 ms of pushes (at least 20 jobs).
 */
export function bounded({ samples, drainMs, rate, durationMs }) {
  if (drainMs != null && drainMs <= 1000) return true;
  const win = Math.min(5, Math.floor(durationMs / 2000));
  if (samples.length < 2 * win || win < 1) return false;
  const first = Math.max(...samples.slice(0, win));
  const last = Math.max(...samples.slice(-win));
  return last <= 2 * first + Math.max(20, rate * 0.05);
}

/**
 * One rate on the running pair: `rate` jobs/s for `durationMs`, phase number `phase`. Resolves to
 * the figures of that rate.
 */
async function steadyPhase(sys, ctx, { worker, producer, state }, phase, rate, durationMs) {
  const { withTimeout, progress, now, sleep } = ctx;
  const startedOf = () => state.started[phase] ?? 0;
  const issuedOf = () => (state.producer.phase === phase ? state.producer.issued : 0);
  const prodPhase = producer.next('phase', durationMs + 60_000);
  const goAt = now();
  producer.send({ type: 'go', phase, rate, durationMs });
  const samples = []; // backlog at the end of each second of pushing
  let maxBacklog = 0;
  let second = 1;
  let prodDone = false;
  prodPhase.then(
    () => (prodDone = true),
    () => (prodDone = true),
  );
  while (!prodDone) {
    await Promise.race([sleep(100), prodPhase]).catch(() => undefined);
    const ms = now() - goAt;
    const backlog = Math.max(0, issuedOf() - startedOf());
    maxBacklog = Math.max(maxBacklog, backlog);
    if (ms >= second * 1000 && second * 1000 <= durationMs) {
      samples.push(backlog);
      second++;
    }
    progress(`${sys.key}: ${ctx.label}: ${Math.round(ms / 1000)} s, ${issuedOf()} pushed, ${startedOf()} started, backlog ${backlog}`);
  }
  const p = await prodPhase;
  const endBacklog = Math.max(0, p.issued - startedOf()); // at the end of the pushing
  // Let the worker catch up (up to 10 s) before it reports, so the latency of every job counts.
  const endAt = p.t0 + p.pushMs;
  let drainMs = null;
  const drainCap = now() + 10_000;
  while (now() < drainCap) {
    if (startedOf() >= p.acked) {
      drainMs = Math.max(0, now() - endAt);
      break;
    }
    await sleep(20);
  }
  const wPhase = worker.next('phase', 30_000);
  worker.send({ type: 'report', phase });
  const w = await withTimeout(wPhase, 30_000, `${sys.key} steady worker`);
  const out = {
    rate,
    achieved: p.acked / (durationMs / 1000),
    target: p.target,
    pushed: p.acked,
    failed: p.failed,
    late: p.late,
    maxLagMs: p.maxLagMs,
    started: w.started,
    p50: w.p50,
    p90: w.p90,
    p99: w.p99,
    max: w.max,
    backlogMax: maxBacklog,
    backlogEnd: endBacklog,
    backlogSeries: samples,
    drainMs,
    notStarted: Math.max(0, p.acked - w.started),
  };
  out.bounded = bounded({ samples, drainMs, rate, durationMs });
  return out;
}

/** The worker and producer processes on a seeded store (added to `children`, for the caller to kill), with their progress in `state`. */
async function startPair(sys, { spawn, seed, base }, store, children) {
  await seed(sys, store, 0);
  const worker = spawn({ ...base(sys), ...store.cfg, role: 'steady-worker' });
  const producer = spawn({ ...base(sys), ...store.cfg, role: 'steady-producer' });
  children.push(worker, producer);
  await Promise.all([worker.next('ready', 120_000), producer.next('ready', 120_000)]);
  const state = { started: [], producer: {} };
  worker.child.on('message', (m) => m.type === 'progress' && (state.started = m.started));
  producer.child.on('message', (m) => m.type === 'progress' && (state.producer = m));
  return { worker, producer, state };
}

/**
 * Both rates for one system, in turn, on one fresh database with one worker process and one
 * producer process (the second rate runs over the first one's finished jobs). `burnRate` is the
 * system's one-process burn-down rate from the same run. ctx: { spawn, freshStore, seed, base,
 * withTimeout, log, progress, now, sleep, adminUrl, tag }.
 */
export async function runSteady(sys, ctx, P, burnRate) {
  const { freshStore, sleep } = ctx;
  const store = await freshStore(sys, ctx.adminUrl);
  const children = [];
  const out = [];
  try {
    const { worker, producer, state } = await startPair(sys, ctx, store, children);
    await sleep(500); // the worker idle on its queue (the warm-up pushes done), the producer warmed up
    let undrained = null;
    for (const [phase, frac] of P.steadyRates.entries()) {
      const rate = Math.max(1, Math.round(frac * burnRate));
      if (undrained) {
        // A higher rate on top of the lower one's backlog would measure that backlog: not run.
        ctx.log(`  ${sys.key}: steady ${Math.round(frac * 100)}%: not run (${undrained})`);
        out.push({ fraction: frac, rate, skipped: undrained });
        continue;
      }
      const label = `steady ${Math.round(frac * 100)}% (${rate} jobs/s for ${P.steadyMs / 1000} s), ${ctx.tag}`;
      ctx.log(`  ${sys.key}: ${label}`);
      const r = await steadyPhase(sys, { ...ctx, label }, { worker, producer, state }, phase, rate, P.steadyMs);
      r.fraction = frac;
      const f = (v) => (v == null ? '–' : v.toFixed(v >= 100 ? 0 : 2));
      ctx.log(
        `  ${sys.key}: steady ${Math.round(frac * 100)}%: pushed ${Math.round(r.achieved)}/s of ${rate}/s (${r.late} behind schedule), ` +
          `latency p50 ${f(r.p50)} ms, p99 ${f(r.p99)}, max ${f(r.max)}; backlog max ${r.backlogMax}, at the end ${r.backlogEnd}` +
          `${r.drainMs != null ? `, all started ${Math.round(r.drainMs)} ms after the last push` : `, ${r.notStarted} not started 10 s after it`}: ${r.bounded ? 'bounded' : 'NOT bounded'}`,
      );
      out.push(r);
      if (r.drainMs == null) undrained = `the ${Math.round(frac * 100)}% rate's jobs were not all started 10 s after its last push`;
    }
    producer.send({ type: 'go', stop: true });
    worker.send({ type: 'report', stop: true });
    return out;
  } finally {
    await Promise.all(children.map((c) => c.kill(3000)));
    await store.drop();
  }
}

/**
 * The pickup of a push from a producer-only process (scenario key `remote`): the steady pair at the
 * idle pickup's spacing (P.pickups pushes P.spacingMs apart) into a worker process that has been idle
 * for 1.5 s. The latency crosses two processes on one machine clock, as the steady scenario's does.
 */
export async function runRemotePickup(sys, ctx, P) {
  const { freshStore, sleep } = ctx;
  const store = await freshStore(sys, ctx.adminUrl);
  const children = [];
  try {
    const { worker, producer, state } = await startPair(sys, ctx, store, children);
    await sleep(1500); // the worker idle (as in the idle pickup)
    const rate = 1000 / P.spacingMs;
    const r = await steadyPhase(sys, ctx, { worker, producer, state }, 0, rate, P.pickups * P.spacingMs);
    producer.send({ type: 'go', stop: true });
    worker.send({ type: 'report', stop: true });
    return r;
  } finally {
    await Promise.all(children.map((c) => c.kill(3000)));
    await store.drop();
  }
}
