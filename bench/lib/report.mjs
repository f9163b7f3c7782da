// Turns the per-run figures into the console table, latest.md, latest.json and chart.svg.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { featureReport, withoutBaselines } from './report-features.mjs';
import { chartSeries, seriesPanel, summariseSustained, sustainedReport } from './report-sustained.mjs';

const OURS = 'nestjs-pg-queue';

export function median(a) {
  if (!a?.length) return null;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const stat = (a) => (a?.length ? { median: median(a), min: Math.min(...a), max: Math.max(...a), runs: a } : null);

/** Per-key figures: medians and ranges over the runs. */
function summarise(results) {
  const out = {};
  for (const [key, r] of Object.entries(results)) {
    const g = (n) => stat(r.runs[n]);
    out[key] = {
      key,
      base: r.base,
      settings: r.settings,
      notes: r.notes,
      capped: !!r.capped,
      tput: g('burn_1'),
      scale: { 1: g('burn_1'), 2: g('burn_2'), 4: g('burn_4') },
      cpu: { 1: g('cpu_us_1'), 2: g('cpu_us_2'), 4: g('cpu_us_4') },
      large: g('large'),
      rss: g('rss_mb'),
      pickup: r.runs.pickup_p50 ? { p50: g('pickup_p50'), p95: g('pickup_p95'), p99: g('pickup_p99'), max: g('pickup_max') } : null,
      remote: r.runs.remote_p50 ? { p50: g('remote_p50'), p90: g('remote_p90'), p99: g('remote_p99'), max: g('remote_max') } : null,
      single: g('enqueue_single'),
      concurrent: g('enqueue_concurrent'),
      batch: g('enqueue_batch'),
      txn: r.runs.txn_added_p50 ? { added: g('txn_added_p50'), without: g('txn_without_p50'), with: g('txn_with_p50') } : null,
    };
  }
  return out;
}

/** A base key holds the best figure among its settings (highest jobs/s, lowest latency). */
function best(sum, pick, lowerIsBetter = false) {
  const byBase = {};
  for (const s of Object.values(sum)) {
    const v = pick(s);
    if (v == null) continue;
    const cur = byBase[s.base];
    if (cur == null || (lowerIsBetter ? v < cur.v : v > cur.v)) byBase[s.base] = { v, key: s.key };
  }
  return byBase;
}

/**
 * Base keys with their best figure, and every setting under a key of its own: its system key, or
 * `<key>-default` for a setting named like its base (nestjs-pg-queue's default next to its
 * prefetch setting), whose own key already holds the best figure.
 */
function keyed(sum, pick, lowerIsBetter = false) {
  const out = {};
  const b = best(sum, pick, lowerIsBetter);
  for (const [base, { v }] of Object.entries(b)) out[base] = round(v);
  const settings = {};
  for (const s of Object.values(sum)) if (pick(s) != null) settings[s.base] = (settings[s.base] ?? 0) + 1;
  for (const s of Object.values(sum)) {
    const v = pick(s);
    if (v == null) continue;
    if (s.key !== s.base) out[s.key] = round(v);
    else if (settings[s.base] > 1) out[`${s.key}-default`] = round(v);
  }
  return out;
}

const round = (v, d = v >= 100 ? 0 : v >= 10 ? 1 : 2) => (v == null ? null : Number(v.toFixed(d)));
const fmtN = (v) => (v == null ? '–' : Math.round(v).toLocaleString('en'));
const fmtMs = (v) => (v == null ? '–' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtRange = (st, f) => (st == null ? '–' : st.runs.length > 1 ? `${f(st.median)} (${f(st.min)}–${f(st.max)})` : f(st.median));
const ratio = (v, ref) => (v == null || ref == null || ref === 0 ? '–' : `${(v / ref).toFixed(2)}x`);

function table(headers, rows, align) {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (align?.[i] === 'l' ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
function mdTable(headers, rows, align) {
  const sep = headers.map((_, i) => (align?.[i] === 'l' ? '---' : '---:'));
  return [headers, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** Under the targets of a run with --no-analyze: the comparisons with graphile-worker depend on its table's statistics. */
const statsNote =
  "Run with --no-analyze: the seeded tables had no statistics unless autovacuum analyzed them first, and graphile-worker's claim is planned well only with them (its large-table runs, after VACUUM ANALYZE, show the difference): for its comparisons run without --no-analyze.";

function targets(sum, json) {
  const t = json.throughput_jobs_per_s;
  const ours = sum[OURS];
  if (!ours) return [];
  const out = [];
  const add = (name, measured, goal, met) => out.push({ target: name, measured, goal, met });
  if (t['graphile-worker'] != null) add('burn-down >= 2x graphile-worker (best setting)', `${fmtN(t[OURS])} vs ${fmtN(t['graphile-worker'])} jobs/s (${ratio(t[OURS], t['graphile-worker'])})`, '>= 2.00x', t[OURS] >= 2 * t['graphile-worker']);
  if (t['raw-sql'] != null) add('burn-down >= 70% of the raw-SQL ceiling (best)', `${fmtN(t[OURS])} vs ${fmtN(t['raw-sql'])} jobs/s (${((100 * t[OURS]) / t['raw-sql']).toFixed(0)}%)`, '>= 70%', t[OURS] >= 0.7 * t['raw-sql']);
  if (t['bullmq-redis'] != null) add('burn-down >= bullmq on Redis', `${fmtN(t[OURS])} vs ${fmtN(t['bullmq-redis'])} jobs/s (${ratio(t[OURS], t['bullmq-redis'])})`, '>= 1.00x', t[OURS] >= t['bullmq-redis']);
  const pk = json.pickup_ms[OURS];
  if (pk) {
    add('idle pickup p50 < 1.5 ms', `${fmtMs(pk.p50)} ms`, '< 1.5 ms', pk.p50 < 1.5);
    add('idle pickup p99 < 5 ms', `${fmtMs(pk.p99)} ms`, '< 5 ms', pk.p99 < 5);
  }
  const rp = json.remote_pickup_ms;
  if (rp[OURS] && rp['bullmq-redis']) add('pickup from another process p50 <= bullmq on Redis (issue 21)', `${fmtMs(rp[OURS].p50)} vs ${fmtMs(rp['bullmq-redis'].p50)} ms (${ratio(rp[OURS].p50, rp['bullmq-redis'].p50)})`, '<= 1.00x', rp[OURS].p50 <= rp['bullmq-redis'].p50);
  const b = json.enqueue_batch_jobs_per_s;
  if (b['graphile-worker'] != null && b[OURS] != null) add("batch enqueue >= graphile-worker's addJobs", `${fmtN(b[OURS])} vs ${fmtN(b['graphile-worker'])} jobs/s (${ratio(b[OURS], b['graphile-worker'])})`, '>= 1.00x', b[OURS] >= b['graphile-worker']);
  // Issue 21: the defaults against graphile-worker's best setting; 2 and 4 processes against the best raw loop.
  if (ours.tput && t['graphile-worker'] != null) add("default burn-down >= graphile-worker's best setting (issue 21)", `${fmtN(ours.tput.median)} vs ${fmtN(t['graphile-worker'])} jobs/s (${ratio(ours.tput.median, t['graphile-worker'])})`, '>= 1.00x', ours.tput.median >= t['graphile-worker']);
  for (const procs of [2, 4]) {
    const raw = Math.max(...Object.values(sum).filter((s) => s.base === 'raw-sql' && s.scale[procs]).map((s) => s.scale[procs].median));
    const mine = ours.scale[procs]?.median;
    if (mine != null && Number.isFinite(raw)) add(`${procs} processes >= the raw-SQL loop's best (issue 21)`, `${fmtN(mine)} vs ${fmtN(raw)} jobs/s (${ratio(mine, raw)})`, '>= 1.00x', mine >= raw);
  }
  if (ours.large && ours.tput) add('burn-down with finished rows within 20% of empty', `${fmtN(ours.large.median)} vs ${fmtN(ours.tput.median)} jobs/s (${((100 * ours.large.median) / ours.tput.median).toFixed(0)}%)`, '>= 80%', ours.large.median >= 0.8 * ours.tput.median);
  return out;
}

/** " (peers and the -node24 row on Node 24.x)" when systems ran on another Node than the bench's (meta.nodes, per system key). */
const otherNodes = (meta) => {
  const other = [...new Set(Object.values(meta.nodes ?? {}))].filter((v) => `v${v}` !== meta.machine.node);
  return other.length ? ` (peers and the -node24 row on Node ${other.join(', ')})` : '';
};

/**
 * The chart the README shows: burn-down throughput, idle pickup p50 and the pickup p50 of a push from another process per system key. `sum` holds,
 * per key, `tput.median`, `capped`, `pickup.p50.median` and `series` (the median one-process burn-down's
 * jobs/s per second, drawn as a third panel; what writeReports computes; bench/chart.mjs
 * rebuilds it from latest.json). Every setting of this project is drawn in blue.
 */
export function svgChart(sum, meta) {
  const rowsT = Object.values(sum).filter((s) => s.tput).map((s) => ({ key: s.key, v: s.tput.median, capped: s.capped }));
  const rowsP = Object.values(sum).filter((s) => s.pickup).map((s) => ({ key: s.key, v: s.pickup.p50.median }));
  const rowsR = Object.values(sum).filter((s) => s.remote).map((s) => ({ key: s.key, v: s.remote.p50.median }));
  rowsT.sort((a, b) => b.v - a.v);
  rowsP.sort((a, b) => a.v - b.v);
  rowsR.sort((a, b) => a.v - b.v);
  // The label column fits the longest key (up to about 7.5 px a character at 12 px, in bold).
  const longest = Math.max(...[...rowsT, ...rowsP].map((r) => r.key.length), 20);
  const labelW = Math.ceil(20 + 7.6 * longest);
  const W = labelW + 610;
  const barMax = W - labelW - 130;
  const rowH = 24;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let y = 0;
  const parts = [];
  const panel = (title, rows, maxV, fmt, clipNote) => {
    parts.push(`<text x="10" y="${y + 22}" font-size="15" font-weight="bold">${esc(title)}</text>`);
    y += 34;
    for (const r of rows) {
      const clipped = r.v > maxV;
      const w = Math.max(1, (Math.min(r.v, maxV) / maxV) * barMax);
      const ours = r.key === OURS || r.key.startsWith(`${OURS}-`);
      parts.push(`<text x="${labelW - 8}" y="${y + 16}" font-size="12" text-anchor="end"${ours ? ' font-weight="bold"' : ''}>${esc(r.key)}</text>`);
      parts.push(`<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 7}" rx="2" fill="${ours ? '#2f6fdf' : '#9aa5b1'}"/>`);
      if (clipped) parts.push(`<text x="${labelW + w - 4}" y="${y + 16}" font-size="12" text-anchor="end" fill="#fff">»</text>`);
      parts.push(`<text x="${labelW + w + 6}" y="${y + 16}" font-size="12"${ours ? ' font-weight="bold"' : ''}>${esc(fmt(r.v))}${r.capped ? ' (capped run)' : ''}</text>`);
      y += rowH;
    }
    if (clipNote) {
      parts.push(`<text x="${labelW}" y="${y + 14}" font-size="11" fill="#555">${esc(clipNote)}</text>`);
      y += 18;
    }
    y += 14;
  };
  const maxT = Math.max(...rowsT.map((r) => r.v), 1);
  panel(`Burn-down throughput, jobs/s (higher is better; ${meta.P.burnJobs.toLocaleString('en')} no-op jobs, concurrency ${meta.P.concurrency})`, rowsT, maxT, (v) => `${fmtN(v)} jobs/s`);
  const clipAt = 20;
  const maxP = Math.min(Math.max(...rowsP.map((r) => r.v), 0.1), clipAt);
  panel(
    'Idle pickup latency p50, ms (lower is better; push call to handler start)',
    rowsP,
    maxP,
    (v) => `${fmtMs(v)} ms`,
    rowsP.some((r) => r.v > clipAt) ? `bars marked » are cut at ${clipAt} ms; the label has the value` : null,
  );
  if (rowsR.length) {
    panel(
      'Pickup of a push from another process, p50 ms (lower is better; producer-only process to handler start)',
      rowsR,
      Math.min(Math.max(...rowsR.map((r) => r.v), 0.1), clipAt),
      (v) => `${fmtMs(v)} ms`,
      rowsR.some((r) => r.v > clipAt) ? `bars marked » are cut at ${clipAt} ms; the label has the value` : null,
    );
  }
  const sp = seriesPanel(chartSeries(sum), { x0: 10, y0: y, width: W - 20, title: 'Burn-down throughput over time, jobs/s in each second (the median one-process run)', esc });
  parts.push(sp.svg);
  y += sp.height;
  parts.push(`<text x="10" y="${y + 4}" font-size="11" fill="#555">${esc(`${meta.mode} run, median of ${meta.P.runs}; ${meta.machine.cores} cores, ${meta.machine.cpu}; Node ${meta.machine.node}${otherNodes(meta)}; Postgres ${meta.postgres}; ${meta.finishedAt.slice(0, 10)}`)}</text>`);
  y += 16;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="-apple-system, Segoe UI, Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}

export function writeReports({ results, meta, P, dir, write }) {
  meta.P = P;
  meta.mode = P.mode;
  const sum = summarise(withoutBaselines(results));
  const features = featureReport(results, P);
  const sustained = Object.fromEntries(Object.keys(sum).map((k) => [k, summariseSustained(results[k])]));
  for (const k of Object.keys(sum)) sum[k].series = sustained[k].series?.jobs_per_s;
  const sustainedOut = sustainedReport(sum, sustained, P, meta, { table, mdTable });
  const order = Object.keys(sum);
  const ours = sum[OURS];
  const oursT = ours?.tput?.median;
  const oursP = ours?.pickup?.p50.median;

  const json = {
    generated_at: meta.finishedAt,
    mode: P.mode,
    runs_per_scenario: P.runs,
    note: 'Medians over the runs. A base key (nestjs-pg-queue, graphile-worker, pg-boss, raw-sql) holds the best figure of its settings; the settings have keys of their own (nestjs-pg-queue-default is this project with its default settings).',
    machine: meta.machine,
    postgres: `${meta.postgres}, ${meta.postgresSetup}`,
    redis: meta.redis,
    versions: meta.versions,
    node_per_system: meta.nodes ?? {},
    parameters: P,
    settings: Object.fromEntries(Object.values(sum).map((s) => [s.key, s.settings])),
    throughput_jobs_per_s: keyed(sum, (s) => s.tput?.median),
    throughput_range_jobs_per_s: Object.fromEntries(Object.values(sum).filter((s) => s.tput).map((s) => [s.key, { median: round(s.tput.median), min: round(s.tput.min), max: round(s.tput.max), runs: s.tput.runs.map((v) => round(v)) }])),
    pickup_ms: {},
    // A push from a producer-only process into an idle worker process (bench/lib/steady.mjs, runRemotePickup).
    remote_pickup_ms: Object.fromEntries(Object.values(sum).filter((s) => s.remote).map((s) => [s.key, Object.fromEntries(['p50', 'p90', 'p99', 'max'].map((q) => [q, round(s.remote[q]?.median, 3)]))])),
    enqueue_single_jobs_per_s: keyed(sum, (s) => s.single?.median),
    enqueue_concurrent_jobs_per_s: keyed(sum, (s) => s.concurrent?.median),
    enqueue_batch_jobs_per_s: keyed(sum, (s) => s.batch?.median),
    scale_out_jobs_per_s: Object.fromEntries(Object.values(sum).filter((s) => s.tput).map((s) => [s.key, Object.fromEntries(Object.entries(s.scale).map(([k, v]) => [k, round(v?.median)]))])),
    // The machine's CPU (every process) per job during each burn-down: on 2 busy cores, jobs/s with
    // several processes is about its inverse, and it is steadier from run to run than jobs/s.
    machine_cpu_us_per_job: Object.fromEntries(Object.values(sum).filter((s) => s.cpu[1] || s.cpu[2] || s.cpu[4]).map((s) => [s.key, Object.fromEntries(Object.entries(s.cpu).map(([k, v]) => [k, round(v?.median)]))])),
    large_table: { finished_rows: P.largeRows, jobs_per_s: keyed(sum, (s) => s.large?.median) },
    peak_rss_mb: keyed(sum, (s) => s.rss?.median, true),
    transactional_enqueue_ms: ours?.txn ? { [OURS]: { added_p50: round(ours.txn.added.median, 3), without_push_p50: round(ours.txn.without.median, 3), with_push_p50: round(ours.txn.with.median, 3) } } : {},
    capped_burn_down: Object.values(sum).filter((s) => s.capped).map((s) => s.key),
    skipped: meta.skipped,
    notes: Object.fromEntries(Object.values(sum).filter((s) => s.notes.length).map((s) => [s.key, s.notes])),
  };
  const pb = best(sum, (s) => s.pickup?.p50.median, true);
  for (const [b, { key }] of Object.entries(pb)) {
    const p = sum[key].pickup;
    json.pickup_ms[b] = { p50: round(p.p50.median, 3), p95: round(p.p95.median, 3), p99: round(p.p99.median, 3), max: round(p.max.median, 3) };
  }
  for (const s of Object.values(sum)) {
    if (s.pickup && s.key !== s.base) json.pickup_ms[s.key] = { p50: round(s.pickup.p50.median, 3), p95: round(s.pickup.p95.median, 3), p99: round(s.pickup.p99.median, 3), max: round(s.pickup.max.median, 3) };
  }
  json.targets = targets(sum, json);
  Object.assign(json, features.json, sustainedOut.json);

  // Tables.
  const tputHeaders = ['system', 'burn-down jobs/s', 'vs ours', '2 procs', '4 procs', 'machine CPU us/job, 1 / 2 / 4 procs', `${(P.largeRows / 1e6).toLocaleString('en')}M finished rows`, 'vs empty', 'peak RSS MB'];
  const cpuOf = (s) => (s.cpu[1] || s.cpu[2] || s.cpu[4] ? [1, 2, 4].map((n) => (s.cpu[n] ? s.cpu[n].median.toFixed(0) : '–')).join(' / ') : '–');
  const tputRows = order.filter((k) => sum[k].tput || sum[k].large).map((k) => {
    const s = sum[k];
    return [
      k + (s.capped ? ' *' : ''),
      fmtRange(s.tput, fmtN),
      ratio(s.tput?.median, oursT),
      fmtRange(s.scale[2], fmtN),
      fmtRange(s.scale[4], fmtN),
      cpuOf(s),
      fmtRange(s.large, fmtN),
      s.large && s.tput ? `${((100 * s.large.median) / s.tput.median).toFixed(0)}%` : '–',
      s.rss ? s.rss.median.toFixed(0) : '–',
    ];
  });
  const latHeaders = ['system', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'p50 vs ours'];
  const latRows = order.filter((k) => sum[k].pickup).map((k) => {
    const p = sum[k].pickup;
    return [k, fmtRange(p.p50, fmtMs), fmtRange(p.p95, fmtMs), fmtRange(p.p99, fmtMs), fmtRange(p.max, fmtMs), ratio(p.p50.median, oursP)];
  });
  const remHeaders = ['system', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'p50 vs ours'];
  const oursR = ours?.remote?.p50.median;
  const remRows = order.filter((k) => sum[k].remote).map((k) => {
    const p = sum[k].remote;
    return [k, fmtRange(p.p50, fmtMs), fmtRange(p.p90, fmtMs), fmtRange(p.p99, fmtMs), fmtRange(p.max, fmtMs), ratio(p.p50.median, oursR)];
  });
  const remIntro = `${P.pickups} single pushes ${P.spacingMs} ms apart from a producer-only process into a worker process idle for 1.5 s; latency from the push call to the handler's start, across the two processes (one machine clock).`;
  const enqHeaders = ['system', `${P.single.toLocaleString('en')} single pushes, jobs/s`, 'vs ours', `the same from ${P.callers} concurrent callers, jobs/s`, 'vs ours', `batch of ${P.batch.toLocaleString('en')}, jobs/s`, 'vs ours'];
  const enqRows = order.filter((k) => sum[k].single).map((k) => {
    const s = sum[k];
    return [k, fmtRange(s.single, fmtN), ratio(s.single.median, ours?.single?.median), fmtRange(s.concurrent, fmtN), ratio(s.concurrent?.median, ours?.concurrent?.median), fmtRange(s.batch, fmtN), ratio(s.batch.median, ours?.batch?.median)];
  });
  const L = ['l'];
  const txnLine = ours?.txn
    ? `Transactional enqueue (nestjs-pg-queue): a TypeORM transaction inserting one row takes ${fmtMs(ours.txn.without.median)} ms at p50; with a push through its QueryRunner ${fmtMs(ours.txn.with.median)} ms: +${fmtMs(ours.txn.added.median)} ms per transaction (p50${P.runs > 1 ? `, min–max of the added ms ${fmtMs(ours.txn.added.min)}–${fmtMs(ours.txn.added.max)}` : ''}).`
    : null;
  const capNote = Object.values(sum).some((s) => s.capped) ? `* a burn-down run was stopped before its jobs were done (one process: at ${P.burnCapMs / 1000} s of ${P.burnJobs.toLocaleString('en')} jobs; scale-out: at ${P.scaleCapMs / 1000} s of ${P.scaleJobs.toLocaleString('en')}); jobs/s is the jobs done in that time.` : null;
  const rangeNote = P.runs > 1 ? `Figures are medians of ${P.runs} runs, (min–max) in brackets.` : 'One run per scenario (--quick).';

  const consoleOut = [
    '',
    `Burn-down (${P.burnJobs.toLocaleString('en')} no-op jobs, concurrency ${P.concurrency} per process). ${rangeNote}`,
    table(tputHeaders, tputRows, L),
    capNote,
    '',
    `Idle pickup latency (${P.pickups} pushes ${P.spacingMs} ms apart, push call to handler start)`,
    table(latHeaders, latRows, L),
    '',
    ...(remRows.length ? ['Pickup of a push from another process', table(remHeaders, remRows, L), ''] : []),
    'Enqueue',
    table(enqHeaders, enqRows, L),
    '',
    txnLine,
    '',
    ...(features.console ? [features.console, ''] : []),
    ...(sustainedOut.console ? [sustainedOut.console, ''] : []),
    'Targets (issues 7 and 21)',
    ...(P.analyze ? [] : [statsNote]),
    table(['target', 'measured', 'goal', 'met'], json.targets.map((t) => [t.target, t.measured, t.goal, t.met ? 'yes' : 'NO']), ['l', 'l', 'l', 'l']),
    meta.skipped.length ? `\nSkipped: ${meta.skipped.map((s) => `${s.key} (${s.reason})`).join('; ')}` : '',
  ]
    .filter((l) => l != null)
    .join('\n');

  const md = [
    '# Benchmark results',
    '',
    `Generated by \`npm run bench${P.mode === 'quick' ? ' -- --quick' : ''}\` on ${meta.finishedAt} (${P.mode} mode, ${meta.durationS} s). ${rangeNote} "vs ours" is the ratio to nestjs-pg-queue (for latency, higher is slower).`,
    '',
    '![throughput and pickup latency](chart.svg)',
    '',
    `## Burn-down throughput`,
    '',
    `${P.burnJobs.toLocaleString('en')} no-op jobs (scale-out and the large table: ${P.scaleJobs.toLocaleString('en')}) are inserted first; then worker processes (concurrency ${P.concurrency} each, booted and held at a gate until all are ready) drain them. jobs/s = jobs / (gate opened → last handler finished). The large-table column repeats the one-process burn-down with ${P.largeRows.toLocaleString('en')} finished jobs already in the table (inserted with one \`INSERT … SELECT generate_series\`). Machine CPU per job is the CPU time of every process on the machine (workers, Postgres, Redis, the bench) from the gate to the last job, over the jobs done (\`/proc/stat\`): on 2 busy cores the several-process jobs/s is about its inverse. Peak RSS is the one-process worker's high-water mark (\`process.resourceUsage().maxRSS\`; Redis's own memory is not included).`,
    '',
    mdTable(tputHeaders, tputRows, L),
    capNote ? `\n${capNote}` : '',
    '',
    '## Idle pickup latency',
    '',
    `${P.pickups} single pushes ${P.spacingMs} ms apart into an idle worker; latency is from the push call to the handler's start, measured in one process (one clock).`,
    '',
    mdTable(latHeaders, latRows, L),
    '',
    ...(remRows.length ? ['## Pickup of a push from another process', '', remIntro, '', mdTable(remHeaders, remRows, L), ''] : []),
    '## Enqueue',
    '',
    `${P.single.toLocaleString('en')} sequential single pushes (each awaited), the same number from ${P.callers} concurrent callers (each awaiting its own push, as HTTP handlers would), then one batch of ${P.batch.toLocaleString('en')} in one call, from a producer-only process.`,
    '',
    mdTable(enqHeaders, enqRows, L),
    '',
    txnLine ? `## Transactional enqueue\n\n${txnLine}\n` : '',
    features.md ?? '',
    sustainedOut.md ? `${sustainedOut.md}\n` : '',
    '## Targets (issues 7 and 21)',
    '',
    ...(P.analyze ? [] : [statsNote, '']),
    mdTable(['target', 'measured', 'goal', 'met'], json.targets.map((t) => [t.target, t.measured, t.goal, t.met ? 'yes' : '**no**']), ['l', 'l', 'l', 'l']),
    '',
    '## Settings',
    '',
    ...Object.values(sum).map((s) => `- **${s.key}** ${meta.versions[s.key] ?? meta.versions[s.base] ?? (s.key.startsWith(`${OURS}-`) ? meta.versions[OURS] : '')}${meta.nodes?.[s.key] ? `, on Node ${meta.nodes[s.key]}` : ''}: ${s.settings ?? '?'}${s.notes.length ? ` (${s.notes.join('; ')})` : ''}`),
    ...meta.skipped.map((s) => `- **${s.key}**: skipped: ${s.reason}`),
    '',
    'Each system runs on its own fresh database (Redis: its own key prefix) for every scenario run, with the same concurrency, on the same server.',
    '',
    '## Machine',
    '',
    `- ${meta.machine.cores} cores, ${meta.machine.cpu}, ${meta.machine.memoryGB} GB, ${meta.machine.os}; shared with other work: 1-minute load average ${meta.machine.loadavg1m.start} at the start, ${meta.machine.loadavg1m.end} at the end`,
    `- Node ${meta.machine.node} (the bench and this project's rows but nestjs-pg-queue-node24; that row and the peers on the Node named in Settings); PostgreSQL ${meta.postgres}, ${meta.postgresSetup}; Redis ${meta.redis ?? 'none'}`,
    `- versions: ${Object.entries(meta.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    '',
  ].join('\n');

  const svg = svgChart(sum, meta);
  if (!write) return { console: consoleOut, written: null };
  const files = { 'latest.md': md, 'latest.json': `${JSON.stringify(json, null, 2)}\n`, 'chart.svg': svg };
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  return { console: consoleOut, written: Object.keys(files).map((f) => join(dir, f)) };
}
