// Bulk retry/cancel/delete: a preview (nothing changes) first, then an explicit confirmation.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { postJSON } from './api.js';

const PAST = { retry: 'retried', cancel: 'cancelled', delete: 'deleted' };
const jobs = (n) => `${n} ${n === 1 ? 'job' : 'jobs'}`;

/** `target()` returns `{ filter, label }`: the selected ids if any, else the current filter. */
export function BulkBar({ target, onDone, onError }) {
  const [pending, setPending] = useState(null); // { action, filter, count, capped, label }
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);

  const run = async (fn) => {
    setBusy(true);
    onError(null);
    try {
      await fn();
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };

  const preview = (action) =>
    run(async () => {
      setResult(null);
      const { filter, label } = target();
      const res = await postJSON(`api/bulk/${action}`, { filter, preview: true });
      setPending({ action, filter, label, count: res.count, capped: !!res.capped });
    });

  const confirm = () =>
    run(async () => {
      const { action, filter } = pending;
      const res = await postJSON(`api/bulk/${action}`, { filter });
      setPending(null);
      setResult(`${jobs(res.count)} ${PAST[action]}`);
      await onDone();
    });

  return html`
    <div class="bulk">
      <span class="muted">Bulk:</span>
      <button type="button" disabled=${busy} onClick=${() => preview('retry')} data-testid="bulk-retry">Retry…</button>
      <button type="button" disabled=${busy} onClick=${() => preview('cancel')} data-testid="bulk-cancel">Cancel…</button>
      <button type="button" class="danger" disabled=${busy} onClick=${() => preview('delete')} data-testid="bulk-delete">Delete…</button>
      ${pending && html`
        <span class="bulk-confirm">
          <span data-testid="bulk-preview">
            ${pending.capped ? 'At least ' : ''}${jobs(pending.count)} will be ${PAST[pending.action]}
          </span>
          <span class="muted"> (${pending.label})</span>
          <button type="button" class=${pending.action === 'delete' ? 'danger' : 'primary'} disabled=${busy || pending.count === 0}
            onClick=${confirm} data-testid="bulk-confirm">Confirm</button>
          <button type="button" disabled=${busy} onClick=${() => setPending(null)} data-testid="bulk-abort">Cancel</button>
        </span>
      `}
      ${result && html`<span class="ok" data-testid="bulk-result">${result}</span>`}
    </div>
  `;
}
