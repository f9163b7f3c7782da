// Small display helpers shared by the pages.

export const STATUSES = ['pending', 'running', 'done', 'retrying', 'killed', 'cancelled'];

/** Milliseconds as a short human duration: 850 ms, 12.3 s, 4 min 5 s, 2 h 10 min, 3 d 4 h. */
export function humanMs(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** An ISO timestamp as local date-time, or a dash. */
export function dateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function prettyJson(value) {
  if (value === undefined) return '';
  return JSON.stringify(value, null, 2);
}

/** Never put more than this much text into the DOM at once. */
export const MAX_TEXT = 200 * 1024;

export function capText(text) {
  if (text.length <= MAX_TEXT) return { text, cut: false };
  return { text: text.slice(0, MAX_TEXT), cut: true };
}
