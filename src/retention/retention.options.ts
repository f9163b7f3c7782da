import { didYouMean } from '../did-you-mean.js';
import { InvalidQueueOptionsError } from '../errors.js';

/** How long finished jobs are kept, by status: milliseconds, or false to keep them forever. */
export interface RetentionOptions {
  done?: number | false;
  cancelled?: number | false;
  killed?: number | false;
}

export type ResolvedRetention = Record<FinishedStatus, number | false>;
export type FinishedStatus = 'done' | 'cancelled' | 'killed';

const DAY = 24 * 3600 * 1000;
/** A week of done and cancelled jobs, a month of killed ones (they are what an incident looks at). */
export const DEFAULT_RETENTION: ResolvedRetention = { done: 7 * DAY, cancelled: 7 * DAY, killed: 30 * DAY };
export const FINISHED_STATUSES: readonly FinishedStatus[] = ['done', 'cancelled', 'killed'];
const MAX_RETENTION_MS = 100 * 365 * DAY;

/** Validates `option` (a module's or a queue's `retention`) over `base`; false keeps everything forever. */
export function resolveRetention(option: string, value: unknown, base: ResolvedRetention): ResolvedRetention {
  if (value === undefined) return base;
  if (value === false) return { done: false, cancelled: false, killed: false };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidQueueOptionsError(option, 'must be false or { done?, cancelled?, killed? } (milliseconds, or false to keep forever)');
  }
  const given = value as Record<string, unknown>;
  const out = { ...base };
  for (const key of Object.keys(given)) {
    if (!(FINISHED_STATUSES as readonly string[]).includes(key)) {
      throw new InvalidQueueOptionsError(`${option}.${key}`, `is not a finished status${didYouMean(key, FINISHED_STATUSES)} (done, cancelled, killed)`);
    }
    const v = given[key];
    if (v !== false && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1000 || v > MAX_RETENTION_MS)) {
      throw new InvalidQueueOptionsError(`${option}.${key}`, `must be false or milliseconds from 1000 to 100 years, got ${JSON.stringify(v) ?? String(v)}`);
    }
    out[key as FinishedStatus] = v as number | false;
  }
  return out;
}
