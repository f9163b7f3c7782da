// Shared bits: the error box, a busy-aware button, a status badge.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';

export function ErrorBox({ error }) {
  if (!error) return null;
  const message = typeof error === 'string' ? error : error.message;
  return html`<div class="error" role="alert" data-testid="error">${message}</div>`;
}

/** A button that runs an async action, disables itself meanwhile and reports errors to onError. */
export function ActionButton({ action, onError, class: cls = '', children, ...rest }) {
  const [busy, setBusy] = useState(false);
  const click = async () => {
    setBusy(true);
    onError?.(null);
    try {
      await action();
    } catch (err) {
      onError?.(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<button type="button" class=${cls} disabled=${busy} onClick=${click} ...${rest}>${children}</button>`;
}

export function StatusBadge({ status, ...rest }) {
  return html`<span class=${`badge status-${status}`} ...${rest}>${status}</span>`;
}
