// The "Feature costs" and "Memory" sections of the report (hooked into bench/lib/report.mjs):
// what each feature costs the one-process burn-down, as a ratio to the plain default in the same
// run, and the worker's peak RSS against a bare Nest application context with pg (bare-nest-pg).

const PLAIN = 'nestjs-pg-queue';
/** Keys that are baselines, not systems: left out of the throughput tables and the chart. */
export const BASELINES = ['bare-nest-pg'];
/** Memory target: the worker's peak RSS at most this much above the bare baseline. */
const MEMORY_TARGET_MB = 15;
/** A feature costing more than this share of the plain burn-down's jobs/s is flagged. */
const FLAG_COST = 0.05;

/** The feature variants of bench/systems/list.mjs, in the order of the table. */
export const FEATURES = [
  ['nestjs-pg-queue-events', 'job events: a listener on every event'],
  ['nestjs-pg-queue-otel', 'OpenTelemetry with an SDK'],
  ['nestjs-pg-queue-schema', 'payload schema (zod 4, defineJob)'],
  ['nestjs-pg-queue-pauses', 'pauses: other queues paused, one toggled all the run'],
  ['nestjs-pg-queue-cancels', 'cancels during the run (QueueAdmin.cancel)'],
  ['nestjs-pg-queue-cron', 'an every-second cron schedule'],
  ['nestjs-pg-queue-retention', 'retention pruning during the run'],
  ['nestjs-pg-queue-all-features', 'all of the above together'],
];

export function withoutBaselines(results) {
  return Object.fromEntries(Object.entries(results).filter(([k]) => !BASELINES.includes(k)));
}

function median(a) {
  if (!a?.length) return null;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const fmtN = (v) => (v == null ? '–' : Math.round(v).toLocaleString('en'));
const fmtX = (v) => (v == null ? '–' : `${v.toFixed(2)}x`);
const range = (a, f) => (a.length > 1 ? `${f(median(a))} (${f(Math.min(...a))}–${f(Math.max(...a))})` : f(a[0]));

function rows(results) {
  const plain = results[PLAIN]?.runs.burn_1;
  if (!plain?.length) return [];
  const out = [];
  for (const [key, label] of FEATURES) {
    const runs = results[key]?.runs.burn_1;
    if (!runs?.length) continue;
    // Run i of a variant and run i of the plain default ran in the same round (run.mjs goes round
    // the systems), so each run gives a ratio; the median of those is the feature's cost.
    const ratios = runs.length === plain.length ? runs.map((v, i) => v / plain[i]) : [median(runs) / median(plain)];
    const ratio = median(ratios);
    out.push({ key, label, tput: runs, ratios, ratio, flagged: ratio < 1 - FLAG_COST, settings: results[key].settings, capped: !!results[key].capped });
  }
  return out;
}

function memory(results) {
  const ours = median(results[PLAIN]?.runs.rss_mb);
  const base = median(results[BASELINES[0]]?.runs.rss_mb);
  if (ours == null || base == null) return null;
  return { ours, baseline: base, diff: ours - base, met: ours - base <= MEMORY_TARGET_MB, runs: results[PLAIN].runs.rss_mb.length, settings: results[BASELINES[0]].settings };
}

function table(headers, body, md) {
  if (md) return [headers, headers.map((_, i) => (i === 0 ? '---' : '---:')), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const w = headers.map((h, i) => Math.max(h.length, ...body.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...body].map((r) => (typeof r === 'string' ? r : line(r))).join('\n');
}

/** { console, md, json } for writeReports; console and md are null when nothing was measured. */
export function featureReport(results, P) {
  const fr = rows(results);
  const mem = memory(results);
  const plain = results[PLAIN]?.runs.burn_1 ?? [];
  const headers = ['feature', 'jobs/s', 'vs plain default', `costs > ${FLAG_COST * 100}%`];
  const body = fr.map((r) => [`${r.label} (${r.key})${r.capped ? ' *' : ''}`, range(r.tput, fmtN), range(r.ratios, fmtX), r.flagged ? 'YES' : 'no']);
  if (fr.length) body.unshift([`plain default (${PLAIN})`, range(plain, fmtN), '1.00x', '']);
  const intro = `Feature costs (one-process burn-down, ${P.burnJobs.toLocaleString('en')} jobs; each variant's jobs/s over the plain default's in the same run, median of ${plain.length} run(s))`;
  const memHeaders = ['process', 'peak RSS MB'];
  const memBody = mem
    ? [
        [`${PLAIN}: one-process burn-down worker`, mem.ours.toFixed(1)],
        ['bare Nest application context + pg.Pool (bare-nest-pg)', mem.baseline.toFixed(1)],
        [`difference (target: at most +${MEMORY_TARGET_MB} MB)`, `${mem.diff >= 0 ? '+' : ''}${mem.diff.toFixed(1)}${mem.met ? '' : ' (over)'}`],
      ]
    : [];
  const memIntro = mem ? `Memory (peak RSS, process.resourceUsage().maxRSS, median of ${mem.runs} run(s))` : null;

  const consoleOut = [fr.length ? `${intro}\n${table(headers, body)}` : null, mem ? `${memIntro}\n${table(memHeaders, memBody)}` : null].filter(Boolean).join('\n\n');
  const md = [
    fr.length
      ? [
          '## Feature costs',
          '',
          `Each feature's variant drains the same ${P.burnJobs.toLocaleString('en')} no-op jobs in one worker process as the plain default (\`${PLAIN}\`) does; the ratio is the variant's jobs/s over the default's in the same round of runs, median (min–max) over the runs. Flagged: a cost above ${FLAG_COST * 100}% (ratio below ${(1 - FLAG_COST).toFixed(2)}x). On a shared 2-core machine a single run moves by several percent: read a flag on one run as a hint.`,
          '',
          table(headers, body, true),
          '',
          ...fr.map((r) => `- **${r.key}**: ${r.settings ?? '?'}`),
          '',
        ].join('\n')
      : null,
    mem
      ? ['## Memory', '', `The one-process burn-down worker's peak RSS against a baseline in the same run: ${mem.settings}.`, '', table(memHeaders, memBody, true), ''].join('\n')
      : null,
  ]
    .filter(Boolean)
    .join('\n');
  const json = {
    feature_costs: Object.fromEntries(fr.map((r) => [r.key, { feature: r.label, jobs_per_s: Math.round(median(r.tput)), ratio: Number(r.ratio.toFixed(3)), ratios: r.ratios.map((x) => Number(x.toFixed(3))), flagged: r.flagged }])),
    memory: mem ? { peak_rss_mb: Number(mem.ours.toFixed(1)), baseline_rss_mb: Number(mem.baseline.toFixed(1)), difference_mb: Number(mem.diff.toFixed(1)), target_mb: MEMORY_TARGET_MB, met: mem.met } : null,
  };
  return { console: consoleOut || null, md: md || null, json };
}
