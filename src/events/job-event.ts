/** What happened to a job. `failed`: an attempt failed (then `retrying` or `killed` follows). */
export const JOB_EVENTS = ['completed', 'failed', 'retrying', 'killed', 'cancelled', 'snoozed', 'rescued', 'progress'] as const;
export type JobEventName = (typeof JOB_EVENTS)[number];

/** One event, as listeners receive it. Fields that do not apply to the event are absent. */
export interface JobEvent {
  event: JobEventName;
  /**
   * From another process (a queue with `events: true`): ids only, the details (result, error,
   * durations) are on the row (`QueueAdmin.getJob`).
   */
  remote?: true;
  job: {
    id: string;
    queue: string;
    /** Absent for a `cancelled` event of a job this process did not hold. */
    name?: string;
    /** The attempt the event is about (1-based). */
    attempt?: number;
  };
  /** The attempt's run time (completed, failed, retrying, killed, snoozed). */
  durationMs?: number;
  /** completed: the handler's return value (parsed back from JSON). */
  result?: unknown;
  /** failed, retrying, killed, rescued: the error text (stack and causes) as stored in `lastError`. */
  error?: string;
  /** retrying, snoozed: when the job runs again, in ms from the event. */
  delayMs?: number;
  /** progress: the value given to `job.progress()`. */
  progress?: unknown;
}

export type JobEventListener = (event: JobEvent) => unknown;
