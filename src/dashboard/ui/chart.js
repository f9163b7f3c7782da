// A thin Preact wrapper around uPlot. The chart is rebuilt when its series change (e.g. a new
// queue appears) and otherwise only gets new data; it follows its container's width.
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

const HEIGHT = 220;

export function Chart({ series, data, testid, yLabel, yFormat }) {
  const box = useRef(null);
  const plot = useRef(null);
  const key = series.map((s) => s.label).join('\u0000');

  useEffect(() => {
    const el = box.current;
    const fmt = yFormat ?? ((v) => String(v));
    const opts = {
      width: Math.max(el.clientWidth, 300),
      height: HEIGHT,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max ?? 0, 1) * 1.1] } },
      axes: [{}, { label: yLabel, values: (_u, ticks) => ticks.map(fmt), size: 70 }],
      series: [{}, ...series.map((s) => ({ spanGaps: false, width: 2, points: { show: false }, ...s, value: (_u, v) => (v == null ? '—' : fmt(v)) }))],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      if (plot.current && el.clientWidth > 0) plot.current.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series set changes; data updates go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return html`<div class="chart" data-testid=${testid} ref=${box}></div>`;
}

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
export const color = (i) => COLORS[i % COLORS.length];

/** Throughput of all queues (the API's points, one per minute), over the last hour (uPlot wants seconds). */
export function throughputData(throughput, now = Date.now()) {
  const minute = 60_000;
  const end = Math.floor(now / minute) * minute;
  const start = end - 59 * minute;
  const xs = [];
  const done = [];
  const failed = [];
  for (let t = start; t <= end; t += minute) {
    xs.push(t / 1000);
    done.push(0);
    failed.push(0);
  }
  for (const p of Array.isArray(throughput) ? throughput : []) {
    const i = Math.round((Math.floor(p.minute / minute) * minute - start) / minute);
    if (i < 0 || i >= xs.length) continue;
    done[i] += p.done ?? 0;
    failed[i] += p.failed ?? 0;
  }
  return [xs, done, failed];
}

/** Lag history of every queue on one shared time axis (null where a queue has no sample). */
export function lagData(lagHistory, queues) {
  const times = new Set();
  for (const q of queues) for (const [at] of lagHistory?.[q] ?? []) times.add(at);
  const xs = [...times].sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const rows = queues.map((q) => {
    const row = new Array(xs.length).fill(null);
    for (const [at, lag] of lagHistory?.[q] ?? []) row[index.get(at)] = lag;
    return row;
  });
  return [xs.map((t) => t / 1000), ...rows];
}
