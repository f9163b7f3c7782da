// Jobs: a filter form (kept in the URL hash), a keyset-paginated table, row selection and bulk actions.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { enc, getJSON, withQuery } from './api.js';
import { BulkBar } from './bulk.js';
import { ErrorBox, StatusBadge } from './components.js';
import { STATUSES, dateTime } from './format.js';
import { navigate } from './router.js';

const FIELDS = ['queue', 'name', 'status', 'idempotencyKeyPrefix', 'createdAfter', 'createdBefore', 'payloadMatches'];
const PAGE_SIZE = 50;
const PAYLOAD_EXAMPLE = '$.email == "ada@example.com"';

/** The filter as it sits in the hash (`#/jobs?queue=…`). */
function filterFrom(params) {
  const f = {};
  for (const k of FIELDS) f[k] = params.get(k) ?? '';
  return f;
}

/** The filter in the bulk API's shape. */
function bulkFilter(f) {
  const out = {};
  for (const k of ['queue', 'name', 'idempotencyKeyPrefix', 'createdAfter', 'createdBefore', 'payloadMatches']) if (f[k]) out[k] = f[k];
  if (f.status) out.status = f.status.split(',').filter(Boolean);
  return out;
}

// <input type="datetime-local"> speaks local time without a zone; the API wants ISO.
const toLocalInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocalInput = (v) => (v ? new Date(v).toISOString() : '');

export function JobsPage({ params }) {
  const filter = filterFrom(params);
  const filterKey = JSON.stringify(filter);
  const [cursors, setCursors] = useState([null]); // cursors[i] = `after` for page i
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const [selected, setSelected] = useState(new Set());
  const after = cursors[cursors.length - 1];
  const seq = useRef(0);

  const load = async () => {
    const mine = ++seq.current; // only the latest request may update the page
    try {
      const res = await getJSON(withQuery('api/jobs', { ...filter, after, limit: PAGE_SIZE, order: 'desc' }));
      if (mine !== seq.current) return;
      setPage(res);
      setError(null);
    } catch (err) {
      if (mine !== seq.current) return;
      setPage(null);
      setError(err);
    }
  };

  useEffect(() => {
    setCursors([null]);
    setSelected(new Set());
  }, [filterKey]);

  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [filterKey, after]);

  const toggle = (id) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const jobs = page?.jobs ?? [];
  const allSelected = jobs.length > 0 && jobs.every((j) => selected.has(j.id));
  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(jobs.map((j) => j.id)));

  const target = () =>
    selected.size > 0
      ? { filter: { ids: [...selected] }, label: `${selected.size} selected` }
      : { filter: bulkFilter(filter), label: 'whole filter' };

  const afterBulk = async () => {
    setSelected(new Set());
    await load();
  };

  return html`
    <section>
      <div class="page-head"><h1>Jobs</h1><span class="spacer"></span><button type="button" onClick=${load}>Refresh</button></div>
      <${FilterForm} filter=${filter} onSame=${() => (cursors.length > 1 ? setCursors([null]) : load())} />
      <${ErrorBox} error=${error} />
      <${BulkBar} target=${target} onDone=${afterBulk} onError=${setError} />
      <table class="table" data-testid="jobs">
        <thead>
          <tr>
            <th><input type="checkbox" aria-label="Select all" checked=${allSelected} onChange=${toggleAll} data-testid="select-all" /></th>
            <th>Id</th><th>Queue</th><th>Name</th><th>Status</th><th class="num">Attempts</th><th>Created</th><th>Last error</th>
          </tr>
        </thead>
        <tbody>
          ${page && jobs.length === 0 && html`<tr><td colspan="8" class="muted">No jobs match.</td></tr>`}
          ${jobs.map((j) => html`
            <tr key=${j.id} data-testid=${`job-row-${j.id}`}>
              <td><input type="checkbox" aria-label=${`Select job ${j.id}`} checked=${selected.has(j.id)} onChange=${() => toggle(j.id)} data-testid=${`select-${j.id}`} /></td>
              <td class="mono"><a href=${`#/jobs/${enc(j.id)}`}>${j.id}</a></td>
              <td>${j.queue}</td>
              <td>${j.name}</td>
              <td><${StatusBadge} status=${j.status} data-testid=${`job-status-${j.id}`} /></td>
              <td class="num">${j.maxAttempts == null ? j.attempts : `${j.attempts}/${j.maxAttempts}`}</td>
              <td title=${j.createdAt}>${dateTime(j.createdAt)}</td>
              <td class="truncate" title=${j.lastError ?? ''}>${j.lastError ? firstLine(j.lastError) : ''}</td>
            </tr>
          `)}
        </tbody>
      </table>
      <div class="pager">
        ${cursors.length > 1 && html`<button type="button" onClick=${() => setCursors(cursors.slice(0, -1))} data-testid="prev-page">Previous page</button>`}
        ${page?.next != null && html`<button type="button" onClick=${() => setCursors([...cursors, page.next])} data-testid="next-page">Next page</button>`}
        <span class="muted">Page ${cursors.length}${selected.size ? ` · ${selected.size} selected` : ''}</span>
      </div>
    </section>
  `;
}

const firstLine = (text) => String(text).split('\n', 1)[0].slice(0, 200);

function FilterForm({ filter, onSame }) {
  const [form, setForm] = useState({ ...filter, id: '' });
  useEffect(() => setForm({ ...filter, id: '' }), [JSON.stringify(filter)]);
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });

  const submit = (e) => {
    e.preventDefault();
    const id = form.id.trim();
    if (id) return navigate(`#/jobs/${enc(id)}`);
    const q = {};
    for (const k of FIELDS) q[k] = form[k]?.trim?.() ?? form[k];
    const target = withQuery('#/jobs', q);
    if (target === location.hash) onSame();
    else navigate(target);
  };
  const clear = () => navigate('#/jobs');

  return html`
    <form class="filters" onSubmit=${submit}>
      <label>Queue<input value=${form.queue} onInput=${set('queue')} data-testid="filter-queue" /></label>
      <label>Name<input value=${form.name} onInput=${set('name')} data-testid="filter-name" /></label>
      <label>Status
        <select value=${form.status} onChange=${set('status')} data-testid="filter-status">
          <option value="">any</option>
          ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
          ${form.status && !STATUSES.includes(form.status) && html`<option value=${form.status}>${form.status}</option>`}
        </select>
      </label>
      <label>Idempotency key prefix<input value=${form.idempotencyKeyPrefix} onInput=${set('idempotencyKeyPrefix')} data-testid="filter-key" /></label>
      <label>Created after<input type="datetime-local" value=${toLocalInput(form.createdAfter)}
        onInput=${(e) => setForm({ ...form, createdAfter: fromLocalInput(e.currentTarget.value) })} data-testid="filter-created-after" /></label>
      <label>Created before<input type="datetime-local" value=${toLocalInput(form.createdBefore)}
        onInput=${(e) => setForm({ ...form, createdBefore: fromLocalInput(e.currentTarget.value) })} data-testid="filter-created-before" /></label>
      <label class="wide">Payload (SQL/JSON path predicate)<input value=${form.payloadMatches} onInput=${set('payloadMatches')}
        placeholder=${PAYLOAD_EXAMPLE} spellcheck=${false} class="mono" data-testid="filter-payload" /></label>
      <label>Job id<input value=${form.id} onInput=${set('id')} placeholder="go to job" data-testid="filter-id" /></label>
      <div class="filter-buttons">
        <button type="submit" class="primary" data-testid="filter-apply">Search</button>
        <button type="button" onClick=${clear}>Clear</button>
      </div>
    </form>
  `;
}
