// The Overview's data feed. While the page is shown and the tab is visible it listens to the
// `api/live` EventSource; if that closes with an error or stays silent for 10 s it polls
// `api/overview` every 5 s and tries the EventSource again later. A hidden tab stops both.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { getJSON } from './api.js';

const SILENCE_MS = 10_000;
const POLL_MS = 5_000;
const RETRY_LIVE_MS = 30_000;
const HISTORY_MS = 60 * 60_000;

export function useOverviewFeed() {
  const [data, setData] = useState(null);
  const [status, setStatus] = useState(document.visibilityState === 'visible' ? 'polling' : 'paused');
  const [error, setError] = useState(null);
  const history = useRef({});

  // Live snapshots bring the server's lag history; polled ones only the current lag, which we
  // append to the history we have so the chart keeps moving.
  const apply = useCallback((overview) => {
    if (overview.lagHistory) {
      history.current = overview.lagHistory;
    } else {
      const at = Date.parse(overview.at) || Date.now();
      const next = {};
      for (const [queue, q] of Object.entries(overview.queues ?? {})) {
        const points = (history.current[queue] ?? []).filter(([t]) => t > at - HISTORY_MS && t < at);
        next[queue] = [...points, [at, q.lagMs ?? null]];
      }
      history.current = next;
    }
    setData({ ...overview, lagHistory: history.current });
  }, []);

  const refresh = useCallback(async () => {
    try {
      apply(await getJSON('api/overview'));
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [apply]);

  useEffect(() => {
    let stopped = false;
    let source = null;
    let silence = null;
    let pollTimer = null;
    let retryTimer = null;

    const closeLive = () => {
      clearTimeout(silence);
      silence = null;
      if (source) {
        source.onopen = source.onmessage = source.onerror = null;
        source.close();
        source = null;
      }
    };
    const stopPolling = () => {
      clearInterval(pollTimer);
      pollTimer = null;
    };
    const stopAll = () => {
      closeLive();
      stopPolling();
      clearTimeout(retryTimer);
      retryTimer = null;
    };

    const fallBack = () => {
      if (stopped) return;
      closeLive();
      setStatus('polling');
      if (!pollTimer) {
        void refresh();
        pollTimer = setInterval(() => void refresh(), POLL_MS);
      }
      if (!retryTimer) {
        retryTimer = setTimeout(() => {
          retryTimer = null;
          openLive();
        }, RETRY_LIVE_MS);
      }
    };

    const armSilence = () => {
      clearTimeout(silence);
      silence = setTimeout(fallBack, SILENCE_MS);
    };

    const openLive = () => {
      if (stopped || document.visibilityState !== 'visible') return;
      closeLive();
      if (typeof EventSource === 'undefined') return fallBack();
      const es = new EventSource('api/live');
      source = es;
      armSilence();
      es.onopen = () => setStatus('live');
      es.onmessage = (event) => {
        let overview;
        try {
          overview = JSON.parse(event.data);
        } catch {
          return;
        }
        armSilence();
        stopPolling();
        clearTimeout(retryTimer);
        retryTimer = null;
        apply(overview);
        setError(null);
        setStatus('live');
      };
      es.onerror = () => {
        // Closed for good: poll. Otherwise it reconnects on its own and the silence timer guards it.
        if (es.readyState === EventSource.CLOSED) fallBack();
      };
    };

    const onVisibility = () => {
      if (document.visibilityState === 'visible') {
        setStatus('polling');
        void refresh();
        openLive();
      } else {
        stopAll();
        setStatus('paused');
      }
    };

    document.addEventListener('visibilitychange', onVisibility);
    if (document.visibilityState === 'visible') {
      void refresh();
      openLive();
    }
    return () => {
      stopped = true;
      stopAll();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [apply, refresh]);

  return { data, status, error, setError, refresh };
}
