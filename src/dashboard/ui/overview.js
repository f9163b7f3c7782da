// Overview: per-queue counts with pause/resume, throughput and lag charts, and the workers.
import { html } from 'htm/preact';
import { useMemo } from 'preact/hooks';
import { enc, postJSON } from './api.js';
import { Chart, color, lagData, throughputData } from './chart.js';
import { ActionButton, ErrorBox } from './components.js';
import { STATUSES, dateTime, humanMs } from './format.js';
import { useOverviewFeed } from './live.js';

const LIVE_LABEL = { live: 'live', polling: 'polling', paused: 'paused' };

export function OverviewPage() {
  const { data, status, error, setError, refresh } = useOverviewFeed();
  const queues = useMemo(() => Object.keys(data?.queues ?? {}).sort(), [data]);

  return html`
    <section>
      <div class="page-head">
        <h1>Overview</h1>
        <span class=${`live live-${status}`} data-testid="live-status" title="Data feed">${LIVE_LABEL[status]}</span>
        ${data && html`<span class="muted">as of ${dateTime(data.at)}</span>`}
        <span class="spacer"></span>
        <button type="button" onClick=${refresh}>Refresh</button>
      </div>
      <${ErrorBox} error=${error} />
      ${data ? html`
        <${QueueTable} queues=${queues} data=${data} onError=${setError} refresh=${refresh} />
        <${Charts} queues=${queues} data=${data} />
        <${Workers} workers=${data.workers ?? []} />
      ` : !error && html`<p class="muted">Loading…</p>`}
    </section>
  `;
}

function QueueTable({ queues, data, onError, refresh }) {
  if (queues.length === 0) return html`<p class="muted">No queues yet.</p>`;
  return html`
    <table class="table" data-testid="queues">
      <thead>
        <tr>
          <th>Queue</th>
          ${STATUSES.map((s) => html`<th class="num">${s}</th>`)}
          <th class="num">Lag</th>
          <th class="num">Stale running</th>
          <th>Unhandled</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${queues.map((name) => html`
          <${QueueRow} key=${name} name=${name} q=${data.queues[name]} onError=${onError} refresh=${refresh} />
        `)}
      </tbody>
    </table>
  `;
}

function QueueRow({ name, q, onError, refresh }) {
  const toggle = async () => {
    await postJSON(`api/queues/${enc(name)}/${q.paused ? 'resume' : 'pause'}`, {});
    await refresh();
  };
  const unhandled = Object.entries(q.unhandled ?? {});
  return html`
    <tr data-testid=${`queue-row-${name}`}>
      <td>
        <a href=${`#/jobs?queue=${enc(name)}`}>${name}</a>
        ${q.paused && html` <span class="badge badge-warn" data-testid=${`paused-${name}`}>paused</span>`}
      </td>
      ${STATUSES.map((s) => html`
        <td class="num" data-testid=${`count-${name}-${s}`}><a class="plain" href=${`#/jobs?queue=${enc(name)}&status=${s}`} title=${q.estimated?.includes(s) ? 'estimated (a large table: the planner\'s figure)' : undefined}>${q.estimated?.includes(s) ? '~' : ''}${q[s] ?? 0}</a></td>
      `)}
      <td class="num" data-testid=${`lag-${name}`}>${humanMs(q.lagMs)}</td>
      <td class=${`num ${q.staleRunning ? 'warn' : ''}`}>${q.staleRunning ?? 0}</td>
      <td>${unhandled.length ? unhandled.map(([n, c]) => html`<span class="chip">${n}: ${c}</span>`) : html`<span class="muted">—</span>`}</td>
      <td class="actions">
        <${ActionButton} action=${toggle} onError=${onError} data-testid=${`pause-${name}`}>${q.paused ? 'Resume' : 'Pause'}<//>
      </td>
    </tr>
  `;
}

const THROUGHPUT_SERIES = [
  { label: 'done', stroke: '#16a34a', fill: 'rgba(22,163,74,0.08)' },
  { label: 'failed', stroke: '#dc2626', fill: 'rgba(220,38,38,0.08)' },
];

function Charts({ queues, data }) {
  const tp = useMemo(() => throughputData(data.throughput), [data.throughput]);
  const lag = useMemo(() => lagData(data.lagHistory, queues), [data.lagHistory, queues]);
  const lagSeries = useMemo(() => queues.map((q, i) => ({ label: q, stroke: color(i) })), [queues]);
  return html`
    <div class="charts">
      <figure class="card">
        <figcaption>Throughput per minute (all queues, last hour)</figcaption>
        <${Chart} testid="throughput-chart" series=${THROUGHPUT_SERIES} data=${tp} yLabel="jobs/min" />
      </figure>
      <figure class="card">
        <figcaption>Lag (oldest due job waiting)</figcaption>
        <${Chart} testid="lag-chart" series=${lagSeries} data=${lag} yLabel="lag" yFormat=${humanMs} />
      </figure>
    </div>
  `;
}

function Workers({ workers }) {
  return html`
    <h2>Workers</h2>
    <table class="table" data-testid="workers">
      <thead>
        <tr><th>Worker</th><th>Queue</th><th class="num">Heartbeat age</th><th class="num">Running</th><th>Handlers</th><th>Started</th></tr>
      </thead>
      <tbody>
        ${workers.length === 0 && html`<tr><td colspan="6" class="muted">No workers.</td></tr>`}
        ${workers.map((w) => html`
          <tr key=${`${w.workerId}/${w.queue}`} data-testid=${`worker-${w.workerId}`}>
            <td class="mono">${w.workerId}</td>
            <td>${w.queue}</td>
            <td class="num">${humanMs(w.heartbeatAgeMs)}</td>
            <td class="num">${w.running}</td>
            <td>${(w.names ?? []).join(', ')}</td>
            <td>${dateTime(w.startedAt)}</td>
          </tr>
        `)}
      </tbody>
    </table>
  `;
}
