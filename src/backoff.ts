import { didYouMean } from './did-you-mean.js';
import { InvalidQueueOptionsError } from './errors.js';

/**
 * How long a failed attempt waits before the next one:
 * - `exponential`: `baseMs * 2^(attempt-1)`, capped at `maxMs`, with full jitter in [50%, 100%] when `jitter`;
 * - `fixed`: always `delayMs`;
 * - a function of the attempt number (1-based) and the error, returning milliseconds.
 */
export type BackoffOptions =
  | { type: 'exponential'; baseMs?: number; maxMs?: number; jitter?: boolean }
  | { type: 'fixed'; delayMs: number }
  | ((attempt: number, error: unknown) => number);

export function validateBackoff(option: string, backoff: unknown): asserts backoff is BackoffOptions {
  if (typeof backoff === 'function') return;
  const b = backoff as Record<string, unknown> | null;
  const nonNegative = (key: string) => {
    const v = b?.[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new InvalidQueueOptionsError(`${option}.${key}`, 'must be a finite number >= 0');
    }
  };
  const allowed = b?.type === 'exponential' ? ['type', 'baseMs', 'maxMs', 'jitter'] : ['type', 'delayMs'];
  for (const key of Object.keys(b ?? {})) {
    if (!allowed.includes(key)) throw new InvalidQueueOptionsError(`${option}.${key}`, `is not a known backoff option${didYouMean(key, allowed)}`);
  }
  if (b?.type === 'exponential') {
    nonNegative('baseMs');
    nonNegative('maxMs');
    if (b.jitter !== undefined && typeof b.jitter !== 'boolean') {
      throw new InvalidQueueOptionsError(`${option}.jitter`, 'must be a boolean');
    }
    return;
  }
  if (b?.type === 'fixed') {
    if (b.delayMs === undefined) throw new InvalidQueueOptionsError(`${option}.delayMs`, 'is required');
    nonNegative('delayMs');
    return;
  }
  throw new InvalidQueueOptionsError(
    option,
    "must be { type: 'exponential', baseMs?, maxMs?, jitter? }, { type: 'fixed', delayMs } or a function",
  );
}

/** Milliseconds to wait after failed attempt number `attempt` (1-based). */
export function backoffDelayMs(backoff: BackoffOptions, attempt: number, error: unknown): number {
  let ms: number;
  if (typeof backoff === 'function') {
    ms = backoff(attempt, error);
  } else if (backoff.type === 'fixed') {
    ms = backoff.delayMs;
  } else {
    const base = backoff.baseMs ?? 1000;
    const max = backoff.maxMs ?? 3_600_000;
    ms = Math.min(max, base * 2 ** Math.min(attempt - 1, 52));
    if (backoff.jitter ?? true) ms = ms / 2 + Math.random() * (ms / 2);
  }
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}
