import type { Logger } from '@nestjs/common';
import { didYouMean } from '../did-you-mean.js';
import { DatabaseUnavailableError, describeTarget, InvalidQueueOptionsError, type DatabaseTarget } from '../errors.js';
import { causeText, isPermanent, isUnavailable } from './connection-errors.js';

/** How bootstrap retries a database it cannot reach. `false` is one attempt. */
export interface BootRetryOptions {
  /** Attempts in all, the first included. Default 5. */
  attempts?: number;
  /** The wait after the first failed attempt; it doubles each time. Default 500 ms. */
  delayMs?: number;
  /** The longest wait between attempts. Default 4000 ms. */
  maxDelayMs?: number;
}

export type ResolvedBootRetry = Required<BootRetryOptions>;

/** 5 attempts, waiting 0.5, 1, 2 and 4 s between them: about 8 s (like TypeORM's retry, shorter). */
export const DEFAULT_BOOT_RETRY: ResolvedBootRetry = { attempts: 5, delayMs: 500, maxDelayMs: 4000 };
const KEYS = ['attempts', 'delayMs', 'maxDelayMs'] as const;

export function resolveBootRetry(value: unknown): ResolvedBootRetry {
  if (value === undefined || value === true) return DEFAULT_BOOT_RETRY;
  if (value === false) return { ...DEFAULT_BOOT_RETRY, attempts: 1 };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidQueueOptionsError('bootRetry', 'must be false or { attempts?, delayMs?, maxDelayMs? }');
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new InvalidQueueOptionsError(`bootRetry.${key}`, `is not a known option${didYouMean(key, KEYS)}`);
    }
  }
  const out = { ...DEFAULT_BOOT_RETRY };
  for (const key of KEYS) {
    const v = given[key];
    if (v === undefined) continue;
    const min = key === 'attempts' ? 1 : 0;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > 600_000) {
      throw new InvalidQueueOptionsError(`bootRetry.${key}`, `must be an integer from ${min} to 600000, got ${JSON.stringify(v) ?? String(v)}`);
    }
    out[key] = v;
  }
  return out;
}

/**
 * Runs `step` (the bootstrap's database work, safe to repeat) until it succeeds, retrying while
 * the database is unreachable, each failed attempt logged once. A refused login or a missing
 * database is not retried. What is thrown in the end is a {@link DatabaseUnavailableError}
 * naming the target, with pg's error as its cause; any other error is thrown as it is.
 */
export async function withBootRetry<T>(
  step: () => Promise<T>,
  retry: ResolvedBootRetry,
  where: { target: DatabaseTarget; schema: string; logger: Logger },
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      const last = attempt >= retry.attempts || isPermanent(err);
      if (last) {
        const tried = attempt === 1 ? 'gave up after 1 attempt' : `gave up after ${attempt} attempts over ${((Date.now() - started) / 1000).toFixed(1)} s`;
        const why = isPermanent(err) && attempt < retry.attempts ? ' (not retried: a refused login or a missing database does not fix itself)' : '';
        throw new DatabaseUnavailableError(where.target, where.schema, `${causeText(err)}; ${tried}${why}`, { cause: err });
      }
      const delay = Math.min(retry.maxDelayMs, retry.delayMs * 2 ** (attempt - 1));
      where.logger.warn(
        `database unavailable at boot (${causeText(err)}; ${describeTarget(where.target)}): attempt ${attempt} of ${retry.attempts}, retrying in ${delay} ms`,
      );
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
