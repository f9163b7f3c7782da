// `node bench/chart.mjs [results.json] [chart.svg]`: draws the chart again from a results file
// (default bench/results/latest.json into bench/results/chart.svg) without running the bench, e.g.
// after a change to the chart's layout. The figures are the file's; nothing is measured.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { svgChart } from './lib/report.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const input = process.argv[2] ?? join(here, 'results', 'latest.json');
const output = process.argv[3] ?? join(dirname(input), 'chart.svg');
const r = JSON.parse(readFileSync(input, 'utf8'));

// The file keys each setting by its own name, except this project's default, whose name is its
// base key (which holds the best of its settings in the file): `<base>-default` there.
const own = (byKey, key) => byKey[`${key}-default`] ?? byKey[key];
const sum = {};
for (const key of Object.keys(r.settings)) {
  const s = { key };
  const tput = own(r.throughput_jobs_per_s, key);
  if (tput !== undefined) s.tput = { median: tput };
  if ((r.capped_burn_down ?? []).includes(key)) s.capped = true;
  const pickup = own(r.pickup_ms, key);
  if (pickup !== undefined) s.pickup = { p50: { median: pickup.p50 } };
  const remote = r.remote_pickup_ms?.[key];
  if (remote !== undefined) s.remote = { p50: { median: remote.p50 } };
  const series = r.burn_series?.[key]; // keyed by each setting's own key
  if (series) s.series = series.jobs_per_s;
  sum[key] = s;
}
const meta = {
  mode: r.mode,
  P: { runs: r.runs_per_scenario, burnJobs: r.parameters.burnJobs, concurrency: r.parameters.concurrency },
  machine: r.machine,
  postgres: String(r.postgres).split(',')[0],
  finishedAt: r.generated_at,
};
writeFileSync(output, svgChart(sum, meta));
console.log(`wrote ${output} from ${input}`);
