// Schedules: every cron schedule with its next and last run, pause/resume, and "run now".
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { enc, postJSON } from './api.js';
import { useApi } from './use-api.js';
import { ActionButton, ErrorBox } from './components.js';
import { dateTime } from './format.js';

export function SchedulesPage() {
  const { data, error, setError, reload: load } = useApi('api/schedules');
  const schedules = data ? (data.schedules ?? []) : null;
  const [triggered, setTriggered] = useState({}); // key → jobId of the last "run now"

  const toggle = (s) => async () => {
    await postJSON(`api/schedules/${enc(s.key)}/${s.paused ? 'resume' : 'pause'}`, {});
    await load();
  };

  const trigger = (s) => async () => {
    const res = await postJSON(`api/schedules/${enc(s.key)}/trigger`, {});
    setTriggered((t) => ({ ...t, [s.key]: res.jobId }));
    await load();
  };

  return html`
    <section>
      <div class="page-head"><h1>Schedules</h1><span class="spacer"></span><button type="button" onClick=${load}>Refresh</button></div>
      <${ErrorBox} error=${error} />
      ${schedules && html`
        <table class="table" data-testid="schedules">
          <thead>
            <tr><th>Key</th><th>Queue</th><th>Name</th><th>Cron</th><th>Next run</th><th>Last run</th><th>State</th><th></th></tr>
          </thead>
          <tbody>
            ${schedules.length === 0 && html`<tr><td colspan="8" class="muted">No schedules</td></tr>`}
            ${schedules.map((s) => html`
              <${ScheduleRow} key=${s.key} s=${s} jobId=${triggered[s.key]} onToggle=${toggle(s)} onTrigger=${trigger(s)} onError=${setError} />
            `)}
          </tbody>
        </table>
      `}
      ${!schedules && !error && html`<p class="muted">Loading…</p>`}
    </section>
  `;
}

function ScheduleRow({ s, jobId, onToggle, onTrigger, onError }) {
  const last = s.lastEnqueuedAt ?? s.lastSlot;
  return html`
    <tr data-testid=${`schedule-${s.key}`}>
      <td class="mono">${s.key}</td>
      <td>${s.queue}</td>
      <td>${s.name}</td>
      <td><code class="mono">${s.cron}</code> <span class="muted small">${s.tz}</span></td>
      <td title=${s.nextSlot ?? ''}>${s.paused ? html`<span class="muted">${dateTime(s.nextSlot)}</span>` : dateTime(s.nextSlot)}</td>
      <td title=${last ?? ''}>${dateTime(last)}</td>
      <td>${s.paused && html`<span class="badge badge-warn" data-testid=${`schedule-paused-${s.key}`}>paused</span>`}</td>
      <td class="actions">
        <${ActionButton} action=${onToggle} onError=${onError} data-testid=${`schedule-toggle-${s.key}`}>${s.paused ? 'Resume' : 'Pause'}<//>
        ${' '}
        <${ActionButton} action=${onTrigger} onError=${onError} data-testid=${`schedule-trigger-${s.key}`}>Run now<//>
        ${jobId != null && html`
          <div class="small" data-testid=${`schedule-triggered-${s.key}`}>
            Enqueued <a class="mono" href=${`#/jobs/${enc(String(jobId))}`}>job ${jobId}</a>
          </div>
        `}
      </td>
    </tr>
  `;
}
