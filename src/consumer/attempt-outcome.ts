import type { Logger } from '@nestjs/common';
import { backoffDelayMs, type BackoffOptions } from '../backoff.js';
import { resultJson } from '../encoding/attempt-values.js';
import { UnrecoverableError } from '../errors.js';
import { JobSnooze } from '../job-snooze.js';
import type { Ack } from './acker.js';
import type { ActiveJob } from './active-job.js';
import { errorText } from './error-text.js';

export interface AttemptOutcome {
  result?: unknown;
  error?: unknown;
}

/**
 * The ack an attempt's outcome becomes: `done` with its result; `snoozed` (a JobSnooze returned
 * or thrown: due later, the attempt not counted); `retrying` after the backoff; or `killed` when it
 * was the last attempt or the handler threw UnrecoverableError. A result JSON cannot store fails
 * the attempt (ResultNotSerializableError) rather than the ack batch.
 */
export function ackFor(
  entry: ActiveJob,
  outcome: AttemptOutcome,
  ctx: { queue: string; maxAttempts: number; backoff: BackoffOptions; progress: string | null; label: string; logger: Logger },
): Ack {
  const base = {
    id: entry.id,
    queue: ctx.queue,
    name: entry.name,
    durationMs: performance.now() - entry.startedAt,
    attempt: entry.attempt,
    lockedBy: entry.lockedBy,
    maxAttempts: ctx.maxAttempts,
    progress: ctx.progress,
  };
  const snooze = outcome.error instanceof JobSnooze ? outcome.error : outcome.result instanceof JobSnooze ? outcome.result : null;
  if (snooze) return { ...base, status: 'snoozed', result: null, error: null, retryDelayMs: snooze.delayMs };
  let error: unknown = outcome.error;
  let failed = 'error' in outcome;
  let result: string | null = null;
  if (!failed && outcome.result !== undefined) {
    try {
      result = resultJson(outcome.result);
    } catch (e) {
      failed = true;
      error = e;
    }
  }
  if (!failed) return { ...base, status: 'done', result, error: null, retryDelayMs: 0 };
  const last = entry.attempt >= ctx.maxAttempts || error instanceof UnrecoverableError;
  let delay = 0;
  if (!last) {
    try {
      delay = backoffDelayMs(ctx.backoff, entry.attempt, error);
    } catch (e) {
      ctx.logger.error(`backoff of ${ctx.label} threw: ${(e as Error).message}`);
    }
  }
  return { ...base, status: last ? 'killed' : 'retrying', result: null, error: errorText(error), retryDelayMs: delay };
}
