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
