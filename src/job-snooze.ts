import { InvalidJobError } from './errors.js';

/**
 * Returned (or thrown) by a handler to run the job again later without counting the attempt:
 * `return job.snooze(60_000)`. The job goes back to `pending`, due in `delayMs`; its error
 * history and `lastError` are left as they were. An Error, so that throwing it is fine too.
 */
export class JobSnooze extends Error {
  constructor(readonly delayMs: number) {
    super(`snoozed for ${delayMs} ms`);
    this.name = 'JobSnooze';
  }
}

/** Snoozes of more than this are refused: a job parked for a century is a bug. */
const MAX_SNOOZE_MS = 100 * 365 * 24 * 3600 * 1000;

/** What `job.snooze(ms)` returns, once `ms` is checked. @throws InvalidJobError naming `snooze(ms)`. */
export function snoozeFor(ms: number): JobSnooze {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_SNOOZE_MS) {
    throw new InvalidJobError('snooze(ms)', 'must be a finite number of milliseconds from 0 to 100 years');
  }
  return new JobSnooze(ms);
}
