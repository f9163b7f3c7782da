// The report's sustained sections (bench/lib/report.mjs calls these): the one-process burn-down's
// throughput per second, the steady-state scenario (bench/lib/steady.mjs) and the durable pass.

function median(a) {
  if (!a?.length) return null;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const OURS = 'nestjs-pg-queue';
const round = (v, d = v >= 100 ? 0 : v >= 10 ? 1 : 2) => (v == null ? null : Number(v.toFixed(d)));
const fmtN = (v) => (v == null ? '–' : Math.round(v).toLocaleString('en'));
const fmtMs = (v) => (v == null ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ratio = (v, ref) => (v == null || ref == null || ref === 0 ? '–' : `${(v / ref).toFixed(2)}x`);

/**
 * Jobs/s in each second from "go", from the burn-down's samples ([ms since go, jobs done], taken at
 * each progress message of its processes, every 100 ms) read with linear interpolation. The last,
 * partial second (up to the last handler's end) counts at its own length, and is left out below 0.25 s
 * (unless it is the only one).
 */
export function perSecond(samples, total, endMs) {
  const pts = samples.filter(([ms]) => ms < endMs).concat([[endMs, total]]);
  const at = (ms) => {
    let i = 1;
    while (i < pts.length - 1 && pts[i][0] < ms) i++;
    const [m0, v0] = pts[i - 1];
    const [m1, v1] = pts[i];
    return m1 <= m0 ? v1 : v0 + ((v1 - v0) * (Math.min(ms, m1) - m0)) / (m1 - m0);
  };
  const out = [];
  for (let s = 0; s * 1000 < endMs; s++) {
    const to = Math.min((s + 1) * 1000, endMs);
    const len = (to - s * 1000) / 1000;
    if (len < 0.25 && s > 0) break;
    out.push(Math.round((at(to) - at(s * 1000)) / len));
  }
  return out;
}

/** The series of the run whose jobs/s is the median (the lower middle one for an even count). */
function medianSeries(tputs, series) {
  if (!series?.length || !tputs?.length) return null;
  const order = tputs.map((v, i) => [v, i]).sort((a, b) => a[0] - b[0]);
  const i = order[(order.length - 1) >> 1][1];
  return series[i] ? { run: i + 1, jobs_per_s: series[i] } : null;
}

/** Medians of the steady runs (one entry per rate, in P.steadyRates order), and of the durable runs. */
export function summariseSustained(r) {
  const out = {};
  out.series = medianSeries(r.runs.burn_1, r.series?.burn_1);
  if (r.steady?.length) {
    const byFrac = new Map();
    for (const runRates of r.steady) for (const x of runRates) (byFrac.get(x.fraction) ?? byFrac.set(x.fraction, []).get(x.fraction)).push(x);
    out.steady = [...byFrac.entries()].map(([fraction, all]) => {
      const xs = all.filter((x) => !x.skipped);
      if (!xs.length) return { fraction, runs: 0, rate: median(all.map((x) => x.rate)), skipped: all[0].skipped };
      const m = (k) => median(xs.map((x) => x[k]).filter((v) => v != null));
      return {
        fraction,
        runs: xs.length,
        rate: m('rate'),
        achieved: m('achieved'),
        late: m('late'),
        p50: m('p50'),
        p99: m('p99'),
        max: m('max'),
        backlogMax: m('backlogMax'),
        backlogEnd: m('backlogEnd'),
        drainMs: xs.every((x) => x.drainMs != null) ? m('drainMs') : null,
        notStarted: m('notStarted'),
        bounded: xs.every((x) => x.bounded),
        backlogSeries: xs[0].backlogSeries,
      };
    });
  }
  if (r.durable) {
    const d = r.durable;
    const g = (k) => median(d[k] ?? []);
    out.durable = { tput: g('burn_1'), capped: !!d.capped, p50: g('pickup_p50'), p99: g('pickup_p99'), remote: g('remote_p50'), single: g('enqueue_single'), concurrent: g('enqueue_concurrent'), batch: g('enqueue_batch') };
  }
  return out;
}

/** latest.json's burn_series, steady and durable, and the console and latest.md sections. */
export function sustainedReport(sum, sustained, P, meta, { table, mdTable }) {
  const keys = Object.keys(sustained);
  const json = { burn_series: {}, steady: {}, durable: null };
  for (const k of keys) if (sustained[k].series) json.burn_series[k] = sustained[k].series;
  const L = ['l'];
  const steadyRows = [];
  for (const k of keys) {
    for (const x of sustained[k].steady ?? []) {
      if (x.skipped) {
        (json.steady[k] ??= []).push({ fraction: x.fraction, target_jobs_per_s: round(x.rate), not_run: x.skipped });
        steadyRows.push([k, `${Math.round(x.fraction * 100)}%`, fmtN(x.rate), '–', '–', '–', '–', '–', '–', '–', 'not run ¹']);
        continue;
      }
      (json.steady[k] ??= []).push({
        fraction: x.fraction,
        target_jobs_per_s: round(x.rate),
        achieved_jobs_per_s: round(x.achieved),
        behind_schedule: x.late,
        latency_ms: { p50: round(x.p50, 3), p99: round(x.p99, 3), max: round(x.max, 3) },
        backlog: { max: x.backlogMax, end: x.backlogEnd, per_second: x.backlogSeries },
        all_started_ms_after_last_push: x.drainMs == null ? null : Math.round(x.drainMs),
        not_started: x.notStarted,
        bounded: x.bounded,
      });
      steadyRows.push([
        k,
        `${Math.round(x.fraction * 100)}%`,
        fmtN(x.rate),
        fmtN(x.achieved),
        fmtN(x.late),
        fmtMs(x.p50),
        fmtMs(x.p99),
        fmtMs(x.max),
        `${fmtN(x.backlogMax)} / ${fmtN(x.backlogEnd)}`,
        x.drainMs == null ? `${fmtN(x.notStarted)} left` : fmtN(x.drainMs),
        x.bounded ? 'yes' : 'NO',
      ]);
    }
  }
  const steadyHeaders = ['system', 'of burn-down', 'target jobs/s', 'pushed jobs/s', 'behind schedule', 'p50 ms', 'p99 ms', 'max ms', 'backlog max / end', 'drained ms', 'bounded'];
  const skippedNote = keys.some((k) => sustained[k].steady?.some((x) => x.skipped))
    ? "¹ not run: the lower rate's jobs were not all started 10 s after its last push (a higher rate would measure that backlog)."
    : null;
  const durKeys = keys.filter((k) => sustained[k].durable);
  const oursD = sustained[OURS]?.durable;
  const durHeaders = ['system', 'burn-down jobs/s', 'vs ours', 'vs fsync off', 'pickup p50 ms', 'p99 ms', 'p50 vs ours', 'from another process p50 ms', 'vs ours', 'single pushes jobs/s', 'vs ours', 'vs fsync off', `from ${P.callers} callers jobs/s`, 'vs ours', 'vs fsync off', 'batch jobs/s', 'vs ours'];
  const durRows = durKeys.map((k) => {
    const d = sustained[k].durable;
    const s = sum[k];
    return [
      k + (d.capped ? ' *' : ''),
      fmtN(d.tput),
      ratio(d.tput, oursD?.tput),
      ratio(d.tput, s?.tput?.median),
      fmtMs(d.p50),
      fmtMs(d.p99),
      ratio(d.p50, oursD?.p50),
      fmtMs(d.remote),
      ratio(d.remote, oursD?.remote),
      fmtN(d.single),
      ratio(d.single, oursD?.single),
      ratio(d.single, s?.single?.median),
      fmtN(d.concurrent),
      ratio(d.concurrent, oursD?.concurrent),
      ratio(d.concurrent, s?.concurrent?.median),
      fmtN(d.batch),
      ratio(d.batch, oursD?.batch),
    ];
  });
  if (durKeys.length) {
    json.durable = {
      postgres: meta.durable?.setup ?? null,
      runs: 1,
      single_pushes: P.durableSingle,
      systems: Object.fromEntries(
        durKeys.map((k) => {
          const d = sustained[k].durable;
          return [k, { burn_down_jobs_per_s: round(d.tput), capped: d.capped, pickup_ms: { p50: round(d.p50, 3), p99: round(d.p99, 3) }, remote_pickup_p50_ms: round(d.remote, 3), enqueue_single_jobs_per_s: round(d.single), enqueue_concurrent_jobs_per_s: round(d.concurrent), enqueue_batch_jobs_per_s: round(d.batch) }];
        }),
      ),
    };
  }
  const steadyIntro = `Steady state: one worker process (concurrency ${P.concurrency}) and a producer-only process pushing on a schedule (push i due at t0 + i/rate; at each timer tick, about every millisecond, the pushes due go out in one call: a single push, or pushMany of the ones due, up to 16 calls in flight; "behind schedule" = issued over 10 ms late) for ${P.steadyMs / 1000} s at ${P.steadyRates.map((f) => `${f * 100}%`).join(' and ')} of the system's one-process burn-down rate measured earlier in the same run; one fresh database, worker and producer per system, the rates in turn (the second over the first one's finished jobs). Latency: push call (producer's clock) to handler start (worker's clock, same machine). Backlog: pushes called but not started, sampled each second of pushing (max / at the end of the pushing); drained ms: last push to every job started. Bounded: all started within 1 s of the last push, or the last window's max <= 2x the first's + slack.${P.steadyRuns < P.runs ? ` Run ${P.steadyRuns === 1 ? '1 only' : `1-${P.steadyRuns}`}.` : ''}`;
  const durIntro = meta.durable?.setup
    ? `Durable pass: a second server with fsync, synchronous_commit and full_page_writes ON (${meta.durable.setup}), the same for every system, each system's pass right after its first run on the main server: one run of the one-process burn-down (${P.burnJobs.toLocaleString('en')} jobs, capped at ${P.burnCapMs / 1000} s), the idle pickup and the pickup from another process (${P.durablePickups} pushes ${P.spacingMs} ms apart each) and the enqueue (${P.durableSingle.toLocaleString('en')} single pushes, as many from ${P.callers} concurrent callers, one batch of ${P.batch.toLocaleString('en')}). "vs fsync off" is the ratio to the main pass's median (on a shared machine, load moves between the two; read it with the main pass's range).`
    : meta.durable?.skipped
      ? `Durable pass: not run (${meta.durable.skipped}).`
      : null;
  const capNote = durRows.some((r) => r[0].endsWith(' *')) ? `* stopped at ${P.burnCapMs / 1000} s before the ${P.burnJobs.toLocaleString('en')} jobs were done.` : null;
  const consoleOut = [
    steadyRows.length ? `\n${steadyIntro}\n${table(steadyHeaders, steadyRows, L)}${skippedNote ? `\n${skippedNote}` : ''}` : null,
    durIntro ? `\n${durIntro}` : null,
    durRows.length ? table(durHeaders, durRows, L) : null,
    durRows.length ? capNote : null,
  ].filter((l) => l != null);
  const md = [
    steadyRows.length ? `## Steady state\n\n${steadyIntro}\n\n${mdTable(steadyHeaders, steadyRows, L)}\n${skippedNote ? `\n${skippedNote}\n` : ''}` : null,
    durIntro ? `## Durable pass\n\n${durIntro}\n` : null,
    durRows.length ? `${mdTable(durHeaders, durRows, L)}\n${capNote ? `\n${capNote}\n` : ''}` : null,
  ].filter((l) => l != null);
  return { json, console: consoleOut.join('\n'), md: md.join('\n') };
}

/**
 * The chart's panel of jobs/s per second over each system's median one-process burn-down: one line
 * per system key, this project's settings in blues. `series`: { key: number[] }. Returns { svg, height }.
 */
export function seriesPanel(series, { x0, y0, width, title, esc }) {
  const entries = Object.entries(series).filter(([, s]) => s?.length);
  if (!entries.length) return { svg: '', height: 0 };
  const plotH = 220;
  const legendRowH = 16;
  const maxS = Math.max(...entries.map(([, s]) => s.length));
  const maxV = Math.max(...entries.flatMap(([, s]) => s), 1);
  const niceMax = niceCeil(maxV);
  const plotX = x0 + 60;
  const plotW = width - 60 - 10;
  const top = y0 + 34;
  const X = (i) => plotX + (maxS <= 1 ? 0 : (i / (maxS - 1)) * plotW);
  const Y = (v) => top + plotH - (v / niceMax) * plotH;
  const ours = (k) => k === OURS || k.startsWith(`${OURS}-`);
  const greys = ['#9aa5b1', '#d08c2c', '#3d9a5b', '#a34fb3', '#c44536', '#5a6b7a', '#7f9c2a', '#2aa3a3', '#8a6d3b'];
  const blues = ['#2f6fdf', '#6fa0f0', '#1b3f8f', '#5b8fd9', '#98b8ef'];
  let gi = 0;
  let bi = 0;
  const color = Object.fromEntries(entries.map(([k]) => [k, ours(k) ? blues[bi++ % blues.length] : greys[gi++ % greys.length]]));
  const parts = [`<text x="10" y="${y0 + 22}" font-size="15" font-weight="bold">${esc(title)}</text>`];
  for (let t = 0; t <= 4; t++) {
    const v = (niceMax * t) / 4;
    parts.push(`<line x1="${plotX}" x2="${plotX + plotW}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#e3e6ea"/>`);
    parts.push(`<text x="${plotX - 6}" y="${(Y(v) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${esc(Math.round(v).toLocaleString('en'))}</text>`);
  }
  const step = maxS > 20 ? 5 : maxS > 10 ? 2 : 1;
  for (let i = 0; i < maxS; i += step) parts.push(`<text x="${X(i).toFixed(1)}" y="${top + plotH + 14}" font-size="11" text-anchor="middle" fill="#555">${i + 1}</text>`);
  parts.push(`<text x="${plotX + plotW / 2}" y="${top + plotH + 28}" font-size="11" text-anchor="middle" fill="#555">second of the burn-down</text>`);
  for (const [k, s] of entries) {
    const pts = s.map((v, i) => `${X(i).toFixed(1)},${Y(v).toFixed(1)}`).join(' ');
    const w = ours(k) ? 2.2 : 1.4;
    parts.push(s.length === 1 ? `<circle cx="${X(0).toFixed(1)}" cy="${Y(s[0]).toFixed(1)}" r="3" fill="${color[k]}"/>` : `<polyline points="${pts}" fill="none" stroke="${color[k]}" stroke-width="${w}"/>`);
  }
  let ly = top + plotH + 44;
  const cols = 3;
  const colW = plotW / cols;
  entries.forEach(([k, s], i) => {
    const lx = plotX + (i % cols) * colW;
    const yy = ly + Math.floor(i / cols) * legendRowH;
    parts.push(`<rect x="${lx}" y="${yy - 9}" width="14" height="4" fill="${color[k]}"/>`);
    parts.push(`<text x="${lx + 20}" y="${yy - 3}" font-size="11"${ours(k) ? ' font-weight="bold"' : ''}>${esc(`${k} (${s.length} s)`)}</text>`);
  });
  ly += Math.ceil(entries.length / cols) * legendRowH;
  return { svg: parts.join('\n'), height: ly - y0 + 8 };
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * The series the chart draws: every peer's, this project's default and its best setting (the
 * feature-cost settings have their own section). `sum`: per key, `series` and `tput.median`.
 */
export function chartSeries(sum) {
  const rows = Object.values(sum).filter((s) => s.series?.length);
  const ours = rows.filter((s) => s.key === OURS || s.key.startsWith(`${OURS}-`));
  const bestOurs = ours.reduce((b, s) => ((s.tput?.median ?? 0) > (b?.tput?.median ?? 0) ? s : b), null);
  const keep = rows.filter((s) => !ours.includes(s) || s.key === OURS || s === bestOurs);
  keep.sort((a, b) => (b.tput?.median ?? 0) - (a.tput?.median ?? 0));
  return Object.fromEntries(keep.map((s) => [s.key, s.series]));
}
