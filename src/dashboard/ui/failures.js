// Failures: failing jobs grouped by error fingerprint, each group retryable at once.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { enc, postJSON, withQuery } from './api.js';
import { useApi } from './use-api.js';
import { ActionButton, ErrorBox } from './components.js';
import { navigate } from './router.js';

export function FailuresPage({ params }) {
  const queue = params.get('queue') ?? '';
  const { data, error, setError, reload: load } = useApi(withQuery('api/failures', { queue }));
  const groups = data ? (data.groups ?? []) : null;
  const [notice, setNotice] = useState(null);
  const [queueInput, setQueueInput] = useState(queue);
  useEffect(() => setQueueInput(queue), [queue]);

  const retry = (g) => async () => {
    setNotice(null);
    const res = await postJSON(`api/failures/${enc(g.fingerprint)}/retry`, {});
    setNotice({ fingerprint: g.fingerprint, text: `${res.count} ${res.count === 1 ? 'job' : 'jobs'} retried (${g.queue} / ${g.name})` });
    await load();
  };

  const submit = (e) => {
    e.preventDefault();
    navigate(withQuery('#/failures', { queue: queueInput.trim() }));
  };

  return html`
    <section>
      <div class="page-head">
        <h1>Failures</h1>
        <form class="inline" onSubmit=${submit}>
          <input placeholder="queue" value=${queueInput} onInput=${(e) => setQueueInput(e.currentTarget.value)} data-testid="failures-queue" />
          <button type="submit">Filter</button>
        </form>
        <span class="spacer"></span>
        <button type="button" onClick=${load}>Refresh</button>
      </div>
      <${ErrorBox} error=${error} />
      ${notice && html`<p class="ok" data-testid="failure-result">${notice.text}</p>`}
      ${groups && html`
        <table class="table" data-testid="failures">
          <thead>
            <tr><th>Queue</th><th>Name</th><th class="num">Count</th><th class="num">Killed</th><th>Error shape</th><th>Frame</th><th>Latest</th><th></th></tr>
          </thead>
          <tbody>
            ${groups.length === 0 && html`<tr><td colspan="8" class="muted">No failures.</td></tr>`}
            ${groups.map((g) => html`
              <tr key=${g.fingerprint} data-testid=${`failure-${g.fingerprint}`}>
                <td>${g.queue}</td>
                <td>${g.name}</td>
                <td class="num" data-testid=${`failure-count-${g.fingerprint}`}>${g.count}</td>
                <td class="num">${g.killed}</td>
                <td class="shape" title=${g.latestError ?? ''}><code data-testid=${`failure-shape-${g.fingerprint}`}>${g.shape}</code></td>
                <td class="mono small">${g.frame ?? '—'}</td>
                <td>${g.latestId != null ? html`<a class="mono" href=${`#/jobs/${enc(g.latestId)}`} data-testid=${`failure-latest-${g.fingerprint}`}>${g.latestId}</a>` : '—'}</td>
                <td class="actions">
                  <${ActionButton} action=${retry(g)} onError=${setError} data-testid=${`failure-retry-${g.fingerprint}`}>Retry all<//>
                </td>
              </tr>
            `)}
          </tbody>
        </table>
      `}
      ${!groups && !error && html`<p class="muted">Loading…</p>`}
    </section>
  `;
}
