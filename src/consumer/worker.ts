import { Logger } from '@nestjs/common';
import { backoffDelayMs } from '../backoff.js';
import type { ClaimedRow } from '../db/sql/claim-jobs.js';
import { JobTimeoutError, ResultNotSerializableError } from '../errors.js';
import type { Job } from '../job.interfaces.js';
import { toJsonb } from '../producer/job.validation.js';
import type { ResolvedQueueConfig } from '../queue.options.js';
import type { Ack } from './acker.js';
import { errorText } from './error-text.js';
import type { HandlerDefinition } from './handler-definition.js';

interface ActiveJob {
  id: string;
  name: string;
  attempt: number;
  lockedBy: string;
  /**
   * Created on first use of `job.signal`: most handlers never read it, and an AbortController per
   * job was the largest CPU cost of a no-op job. `abortReason` holds an abort that came first.
   */
  controller: AbortController | null;
  abortReason?: { reason: unknown };
  timer: NodeJS.Timeout | null;
  /** Set once the attempt's outcome is decided (ack queued or job released); later outcomes are ignored. */
  settled: boolean;
}

export interface ClaimCapacity {
  /** How many jobs may be claimed now. */
  limit: number;
  /** Names with a free handler slot. */
  names: string[];
}

/** The largest result stored; bigger ones fail the attempt rather than the ack batch. */
const MAX_RESULT_BYTES = 16 * 1024 * 1024;

/**
 * Runs the handlers of one queue in at most `concurrency` slots (and each handler within its own
 * `concurrency`). Builds `Job<T>`, enforces `timeoutMs`, and turns each outcome into an ack.
 * States: running -> draining (no new jobs; waits for in-flight) -> stopped.
 * Invariant: a job is in `active` from `start()` until its outcome is queued on the acker (or it
 * is released), in the same synchronous step, so it is always owned by exactly one of the two.
 */
export class Worker {
  private readonly logger: Logger;
  private readonly active = new Map<string, ActiveJob>();
  private readonly runningByName = new Map<string, number>();
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly queue: ResolvedQueueConfig,
    private readonly handlers: Map<string, HandlerDefinition>,
    private readonly ack: (ack: Ack) => void,
    private readonly onSlotFree: () => void,
  ) {
    this.logger = new Logger(`QueueWorker:${queue.name}`);
  }

  get size(): number {
    return this.active.size;
  }

  ownedIds(): string[] {
    return [...this.active.keys()];
  }

  /**
   * What may be claimed now. `unacked` counts finished jobs whose ack is being written outside
   * the coming claim: they are still `running` in the database, so their slots stay taken until
   * it lands. `reserved` are the claims in flight: each may bring back up to its limit of jobs,
   * of any of its names. This keeps a process's running rows within its concurrency.
   */
  capacity(unacked = 0, reserved: readonly ClaimCapacity[] = []): ClaimCapacity {
    let free = this.queue.concurrency - this.active.size - unacked;
    for (const r of reserved) free -= r.limit;
    if (free <= 0) return { limit: 0, names: [] };
    const names: string[] = [];
    let sum = 0;
    for (const [name, h] of this.handlers) {
      let room = free;
      if (h.concurrency !== undefined) {
        room = h.concurrency - (this.runningByName.get(name) ?? 0);
        for (const r of reserved) if (r.names.includes(name)) room -= r.limit;
      }
      if (room > 0) {
        names.push(name);
        sum += room;
      }
    }
    return { limit: Math.min(free, sum), names };
  }

  /**
   * Starts the claimed jobs. Returns the ones it cannot start because a handler's own
   * concurrency is full (possible when several names share one claim); the caller releases them.
   */
  start(rows: ClaimedRow[], lockedBy: string): ClaimedRow[] {
    const overflow: ClaimedRow[] = [];
    rows.sort((a, b) => b.priority - a.priority || a.run_at.getTime() - b.run_at.getTime() || (a.id < b.id ? -1 : 1));
    for (const row of rows) {
      const handler = this.handlers.get(row.name)!;
      const running = this.runningByName.get(row.name) ?? 0;
      if (handler.concurrency !== undefined && running >= handler.concurrency) {
        overflow.push(row);
        continue;
      }
      this.runningByName.set(row.name, running + 1);
      void this.run(row, handler, lockedBy);
    }
    return overflow;
  }

  /** Resolves when no handler is running, or after `ms`. */
  async drain(ms: number): Promise<void> {
    if (this.active.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  /**
   * Aborts every running handler's signal and settles those jobs without an ack, returning them
   * (id, attempt, lockedBy) so the caller can hand them back to `pending`.
   */
  abortAll(reason: unknown): Array<{ id: string; attempt: number; lockedBy: string }> {
    const released: Array<{ id: string; attempt: number; lockedBy: string }> = [];
    for (const job of [...this.active.values()]) {
      abortJob(job, reason);
      if (this.settle(job)) released.push({ id: job.id, attempt: job.attempt, lockedBy: job.lockedBy });
    }
    return released;
  }

  /** The lease under `lockedBy` expired: those jobs may already run elsewhere, so stop working on them. */
  abandon(lockedBy: string): void {
    for (const job of [...this.active.values()]) {
      if (job.lockedBy !== lockedBy) continue;
      abortJob(job, new Error('worker lease expired; the job was handed to other workers'));
      this.settle(job);
    }
  }

  private async run(row: ClaimedRow, handler: HandlerDefinition, lockedBy: string): Promise<void> {
    const entry: ActiveJob = {
      id: row.id,
      name: row.name,
      attempt: row.attempts,
      lockedBy,
      controller: null,
      timer: null,
      settled: false,
    };
    this.active.set(row.id, entry);
    const maxAttempts = row.max_attempts ?? handler.maxAttempts ?? this.queue.maxAttempts;
    if (row.attempts > maxAttempts) {
      // A job whose previous attempt was lost with its worker, past its last attempt.
      this.finish(entry, handler, maxAttempts, { error: new Error(`attempts exhausted (${maxAttempts}); the last attempt was lost with its worker`) });
      return;
    }
    const job: Job = {
      id: row.id,
      queue: this.queue.name,
      name: row.name,
      data: row.payload,
      attempt: row.attempts,
      maxAttempts,
      priority: row.priority,
      runAt: row.run_at,
      createdAt: row.created_at,
      metadata: row.metadata,
      idempotencyKey: row.idempotency_key,
      get signal() {
        return signalOf(entry);
      },
    };
    if (handler.timeoutMs !== undefined) {
      const timeoutMs = handler.timeoutMs;
      entry.timer = setTimeout(() => {
        const err = new JobTimeoutError(timeoutMs);
        abortJob(entry, err);
        this.finish(entry, handler, maxAttempts, { error: err });
      }, timeoutMs);
    }
    let outcome: { result?: unknown; error?: unknown };
    try {
      outcome = { result: await handler.callback(job) };
    } catch (error) {
      outcome = { error };
    }
    this.finish(entry, handler, maxAttempts, outcome);
  }

  private finish(entry: ActiveJob, handler: HandlerDefinition, maxAttempts: number, outcome: { result?: unknown; error?: unknown }): void {
    if (entry.settled) return;
    let result: string | null = null;
    let error: unknown = undefined;
    let failed = 'error' in outcome;
    if (failed) {
      error = outcome.error;
    } else if (outcome.result !== undefined) {
      try {
        result = toJsonb('result', outcome.result, MAX_RESULT_BYTES);
      } catch (e) {
        failed = true;
        error = new ResultNotSerializableError((e as Error).message.replace(/^Invalid job: result /, ''));
      }
    }
    let ack: Ack;
    if (!failed) {
      ack = { id: entry.id, queue: this.queue.name, attempt: entry.attempt, lockedBy: entry.lockedBy, status: 'done', result, error: null, retryDelayMs: 0 };
    } else {
      const last = entry.attempt >= maxAttempts;
      let delay = 0;
      if (!last) {
        try {
          delay = backoffDelayMs(handler.backoff ?? this.queue.backoff, entry.attempt, error);
        } catch (e) {
          this.logger.error(`backoff of ${handler.label} threw: ${(e as Error).message}`);
        }
      }
      ack = {
        id: entry.id,
        queue: this.queue.name,
        attempt: entry.attempt,
        lockedBy: entry.lockedBy,
        status: last ? 'killed' : 'failed',
        result: null,
        error: errorText(error),
        retryDelayMs: delay,
      };
    }
    // Leave `active` and queue the ack in one synchronous step (see the class invariant). The slot
    // is freed first so that a fetcher refilling it in this turn can carry the ack in its claim.
    this.settle(entry);
    this.ack(ack);
  }

  /** Removes the job from the running set; false when it was already settled. */
  private settle(entry: ActiveJob): boolean {
    if (entry.settled) return false;
    entry.settled = true;
    if (entry.timer) clearTimeout(entry.timer);
    this.active.delete(entry.id);
    this.runningByName.set(entry.name, (this.runningByName.get(entry.name) ?? 1) - 1);
    if (this.active.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.onSlotFree();
    return true;
  }
}

function signalOf(entry: ActiveJob): AbortSignal {
  if (!entry.controller) {
    entry.controller = new AbortController();
    if (entry.abortReason) entry.controller.abort(entry.abortReason.reason);
  }
  return entry.controller.signal;
}

function abortJob(entry: ActiveJob, reason: unknown): void {
  if (entry.controller) entry.controller.abort(reason);
  else entry.abortReason ??= { reason };
}
