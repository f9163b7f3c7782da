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
  const snooze = outcome.error instanceof JobSnooze ? outcome.error : outcome.result instanceof JobSnooze ? outcome.result : null;
  let status: Ack['status'] = 'done';
  let result: string | null = null;
  let errorValue: string | null = null;
  let retryDelayMs = 0;
  if (snooze) {
    status = 'snoozed';
    retryDelayMs = snooze.delayMs;
  } else {
    let error: unknown = outcome.error;
    let failed = 'error' in outcome;
    if (!failed && outcome.result !== undefined) {
      try {
        result = resultJson(outcome.result);
      } catch (e) {
        failed = true;
        error = e;
      }
    }
    if (failed) {
      const last = entry.attempt >= ctx.maxAttempts || error instanceof UnrecoverableError;
      status = last ? 'killed' : 'retrying';
      errorValue = errorText(error);
      if (!last) {
        try {
          retryDelayMs = backoffDelayMs(ctx.backoff, entry.attempt, error);
        } catch (e) {
          ctx.logger.error(`backoff of ${ctx.label} threw: ${(e as Error).message}`);
        }
      }
    }
  }
  // One object of one shape per ack (a job's only allocation here, on the hot path).
  return {
    id: entry.id,
    queue: ctx.queue,
    name: entry.name,
    durationMs: performance.now() - entry.startedAt,
    attempt: entry.attempt,
    lockedBy: entry.lockedBy,
    status,
    result,
    error: errorValue,
    retryDelayMs,
    maxAttempts: ctx.maxAttempts,
    progress: ctx.progress,
  };
}
