// One job: its fields, metadata/result, errors, payload (large ones on demand, capped in the DOM)
// and the per-job actions.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { enc, getJSON, postJSON } from './api.js';
import { ActionButton, ErrorBox, StatusBadge } from './components.js';
import { useApi } from './use-api.js';
import { MAX_TEXT, bytes, capText, dateTime, prettyJson } from './format.js';
import { navigate } from './router.js';

const FIELDS = ['id', 'queue', 'name', 'status', 'attempts', 'maxAttempts', 'priority', 'runAt', 'createdAt', 'lockedAt', 'doneAt', 'lockedBy', 'idempotencyKey'];
const DATES = new Set(['runAt', 'createdAt', 'lockedAt', 'doneAt']);

export function JobPage({ id }) {
  const { data: job, error, setError, reload: load } = useApi(`api/jobs/${enc(id)}`);
  const [notice, setNotice] = useState(null);
  useEffect(() => setNotice(null), [id]);

  const act = (action) => async () => {
    setNotice(null);
    const res = await postJSON(`api/jobs/${enc(id)}/${action}`, {});
    if (action === 'delete') return navigate('#/jobs');
    setNotice(`${action}: ${res.outcome}${res.status ? ` (now ${res.status})` : ''}`);
    await load();
  };

  return html`
    <section>
      <div class="page-head">
        <a href="#/jobs">← Jobs</a>
        <h1>Job <span class="mono">${id}</span></h1>
        ${job && html`<${StatusBadge} status=${job.status} />`}
        <span class="spacer"></span>
        <button type="button" onClick=${load}>Refresh</button>
      </div>
      <${ErrorBox} error=${error} />
      ${job && html`
        <div class="toolbar">
          <${ActionButton} action=${act('retry')} onError=${setError} data-testid="job-retry">Retry<//>
          <${ActionButton} action=${act('promote')} onError=${setError} data-testid="job-promote">Run now<//>
          <${ActionButton} action=${act('cancel')} onError=${setError} data-testid="job-cancel">Cancel<//>
          <${ActionButton} class="danger" action=${act('delete')} onError=${setError} data-testid="job-delete">Delete<//>
          ${notice && html`<span class="ok" data-testid="job-notice">${notice}</span>`}
        </div>
        <${JobDetails} job=${job} />
      `}
      ${!job && !error && html`<p class="muted">Loading…</p>`}
    </section>
  `;
}

function JobDetails({ job }) {
  const errors = job.errors ?? [];
  return html`
    <div class="card">
      <dl class="fields">
        ${FIELDS.map((f) => html`
          <dt>${f}</dt>
          <dd data-testid=${`job-field-${f}`} title=${DATES.has(f) && job[f] ? dateTime(job[f]) : undefined}
            class=${f === 'id' || f === 'idempotencyKey' || f === 'lockedBy' ? 'mono' : ''}>${show(job[f])}</dd>
        `)}
        <dt>progress</dt><dd data-testid="job-progress">${job.progress == null ? '—' : typeof job.progress === 'object' ? prettyJson(job.progress) : String(job.progress)}</dd>
      </dl>
    </div>
    <h2>Metadata</h2>
    <pre class="code" data-testid="job-metadata">${prettyJson(job.metadata ?? null)}</pre>
    <h2>Result</h2>
    <pre class="code" data-testid="job-result">${prettyJson(job.result ?? null)}</pre>
    <h2>Errors (${errors.length})</h2>
    ${errors.length === 0 && job.lastError && html`<pre class="code error-text" data-testid="job-last-error">${job.lastError}</pre>`}
    ${errors.length === 0 && !job.lastError && html`<p class="muted">None.</p>`}
    ${errors.map((e) => html`
      <div class="error-entry">
        <div class="muted">Attempt ${e.attempt} · ${dateTime(e.at)}</div>
        <pre class="code error-text" data-testid=${`job-error-${e.attempt}`}>${typeof e.error === 'string' ? e.error : prettyJson(e.error)}</pre>
      </div>
    `)}
    <${Payload} job=${job} />
  `;
}

const show = (v) => (v === null || v === undefined || v === '' ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function Payload({ job }) {
  const [full, setFull] = useState(null); // { text, cut, length } once loaded: text already capped
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setFull(null), [job.id]);

  const loadPayload = async () => {
    setBusy(true);
    setError(null);
    try {
      const { data } = await getJSON(`api/jobs/${enc(job.id)}/payload`);
      // Stringify once and keep only the capped slice, so a 5 MB payload never reaches the DOM.
      const whole = prettyJson(data ?? null);
      setFull({ ...capText(whole), length: whole.length });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  let body;
  let note = null;
  if (full) {
    body = full.text;
    if (full.cut) note = `Showing the first ${bytes(MAX_TEXT)} of ${bytes(full.length)}.`;
  } else if (job.dataTruncated) {
    body = `${capText(String(job.dataPreview ?? '')).text}… (${job.dataBytes ?? '?'} bytes)`;
  } else {
    const { text, cut } = capText(prettyJson(job.data ?? null));
    body = text;
    if (cut) note = `Showing the first ${bytes(MAX_TEXT)}.`;
  }

  return html`
    <h2>Payload <span class="muted">${bytes(job.dataBytes)}</span></h2>
    ${job.dataTruncated && !full && html`
      <p><button type="button" disabled=${busy} onClick=${loadPayload} data-testid="load-payload">${busy ? 'Loading…' : 'Load full payload'}</button></p>
    `}
    <${ErrorBox} error=${error} />
    ${note && html`<p class="muted" data-testid="payload-note">${note}</p>`}
    <pre class="code" data-testid="job-payload">${body}</pre>
  `;
}
