import { Logger } from '@nestjs/common';
import type { ClaimedRow } from '../db/sql/claim-jobs.js';
import { releasedJob, type ReleasedJob } from '../db/sql/release-jobs.js';
import type { ResolvedQueueConfig } from '../queue.options.js';
import type { Ack } from './acker.js';
import { abortJob, closeTransaction, newActiveJob, type ActiveJob } from './active-job.js';
import { AttemptRunner } from './attempt-runner.js';
import { claimCapacity, type ClaimCapacity } from './claim-capacity.js';
import type { HandlerDefinition } from './handler-definition.js';
import { HOLD_EXPIRY_MS, HoldSizer } from './hold-sizer.js';
import { PrefetchBuffer, type Prefetched } from './prefetch-buffer.js';
import type { QueueEvents } from '../events/queue-events.js';
import type { ProgressWriter } from './progress-writer.js';
import type { QueueTelemetry } from '../telemetry/telemetry-port.js';
import type { AttemptTransactions } from '../handler-transactions/attempt-transactions.js';

export type { ClaimCapacity } from './claim-capacity.js';

/**
 * Runs the handlers of one queue in at most `concurrency` slots (and each handler within its own
 * `concurrency`); each attempt, from its slot to its ack, is an AttemptRunner's. With
 * `prefetch`, up to that many claimed jobs wait in `prefetched` and start as slots free, without
 * a claim in between; with 'auto' (the default), what will start within a few milliseconds (see
 * HoldSizer).
 * States: running -> draining (no new jobs; waits for in-flight) -> stopped.
 * Invariant: a job is in `prefetched` or `active` from `start()` until its outcome is queued on
 * the acker (or it is released), moving between them in one synchronous step, so it is always
 * owned by exactly one of them or the acker.
 */
export class Worker {
  private readonly logger: Logger;
  /**
   * Running attempts, each its own entry, not keyed by job id: a cancelled handler that ignores its
   * signal keeps its slot while the job, retried, runs again here as its next attempt.
   */
  private readonly active = new Set<ActiveJob>();
  private readonly runningByName = new Map<string, number>();
  private readonly prefetched: PrefetchBuffer;
  /** startPrefetched() is running: a job settled inside it (attempts exhausted) needs no second pass. */
  private startingPrefetched = false;
  /** Held jobs started since the last expireHeld(). */
  private startedFromHeld = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly attempts: AttemptRunner;

  constructor(
    private readonly queue: ResolvedQueueConfig,
    private readonly handlers: Map<string, HandlerDefinition>,
    private readonly ack: (ack: Ack) => void,
    private readonly onSlotFree: () => void,
    /** Writes `job.progress()` values; without one (unit tests), progress is only carried on the ack. */
    private readonly progress?: ProgressWriter,
    events?: QueueEvents,
    telemetry?: QueueTelemetry,
    /** Present when a handler of this process runs `{ transaction: true }`. */
    transactions?: AttemptTransactions | null,
  ) {
    this.logger = new Logger(`QueueWorker:${queue.name}`);
    this.prefetched = new PrefetchBuffer(queue.prefetch === 'auto' ? new HoldSizer(queue.concurrency) : queue.prefetch);
    const host = {
      settle: (entry: ActiveJob, ended?: 'cancelled' | 'released') => this.settle(entry, ended),
      ack: (ack: Ack) => this.ack(ack),
      finished: (durationMs: number) => this.prefetched.sizer?.finished(durationMs),
    };
    this.attempts = new AttemptRunner(queue, host, this.logger, progress, events, telemetry, transactions);
  }

  get size(): number {
    return this.active.size;
  }

  /** Names this worker has handlers for. */
  get handlerCount(): number {
    return this.handlers.size;
  }

  /**
   * The queue was paused: hands back what is prefetched and holds nothing more (a claim in
   * flight at the pause returns its jobs beyond the free slots) until `resumePrefetch`.
   */
  suspendPrefetch(): ReleasedJob[] {
    this.prefetched.suspended = true;
    return this.unprefetch();
  }

  resumePrefetch(): void {
    this.prefetched.suspended = false;
  }

  get isPrefetchSuspended(): boolean {
    return this.prefetched.suspended;
  }

  /** Jobs held in memory for a slot (see `prefetch`). */
  get prefetchedCount(): number {
    return this.prefetched.length;
  }

  ownedIds(): string[] {
    return this.ownedClaims().map((c) => c.id);
  }

  /** The claims running or held here: what an operator's cancel may be aimed at. */
  ownedClaims(): ReleasedJob[] {
    const running = [...this.active.values()].map((e) => ({ id: e.id, attempt: e.attempt, lockedBy: e.lockedBy }));
    return [...running, ...this.prefetched.all().map(toReleased)];
  }

  /** What may be claimed now (see claimCapacity). */
  capacity(unacked = 0, reserved: readonly ClaimCapacity[] = []): ClaimCapacity {
    return claimCapacity(this.queue.concurrency, this.handlers, this.active.size, this.runningByName, this.prefetched, unacked, reserved);
  }

  /**
   * Takes the claimed jobs: starts what the free slots allow, most urgent first (a job held
   * from an earlier claim and a newly claimed one compete in claim order), and keeps up to
   * `prefetch` more. Returns the ones it can neither start nor keep (possible when several names
   * share one claim and a handler's own concurrency is full); the caller releases them.
   * `claimMs`: the claim's round trip, which sizes what `prefetch: 'auto'` holds.
   */
  start(rows: ClaimedRow[], lockedBy: string, claimMs?: number): ReleasedJob[] {
    const heldAt = performance.now();
    if (claimMs !== undefined) this.prefetched.sizer?.claimed(claimMs);
    for (const row of rows) this.prefetched.add({ row, lockedBy, heldAt });
    this.prefetched.sort();
    this.startPrefetched();
    const over = this.prefetched.trimTo(this.prefetched.limit).map(toReleased);
    this.prefetched.sizer?.holding(0, this.prefetched.length, heldAt);
    return over;
  }

  /**
   * With `prefetch: 'auto'`: when no held job started since the last look (`sinceMs` ago, at
   * least HOLD_EXPIRY_MS), the handlers slowed down since the jobs were claimed, and another
   * process may start them sooner: takes out those held past HOLD_EXPIRY_MS for the caller to
   * hand back. (A process merely descheduled for a while has started some meanwhile.)
   */
  expireHeld(now = performance.now()): ReleasedJob[] {
    const sizer = this.prefetched.sizer;
    const progressed = this.startedFromHeld > 0;
    this.startedFromHeld = 0;
    if (!sizer || progressed || this.prefetched.length === 0) return [];
    const taken = this.prefetched.takeStale(now - HOLD_EXPIRY_MS);
    if (taken.length > 0) sizer.expired();
    return taken.map(toReleased);
  }

  /** Hands back every prefetched job (on shutdown: they should not wait for our drain). */
  unprefetch(): ReleasedJob[] {
    return this.prefetched.takeAll().map(toReleased);
  }

  /**
   * A job of `name` could start this moment: it has a handler with room, a slot is free (finished
   * jobs whose ack is still being written, `unacked`, keep theirs) and no held job waits for one.
   */
  hasIdleSlot(name: string, unacked: number): boolean {
    return this.handlers.has(name) && this.prefetched.length === 0 && this.active.size + unacked < this.queue.concurrency && this.canStart(name);
  }

  /** Claimed jobs may wait here for a slot (`prefetch` 'auto' or a number above 0). */
  get holdsJobs(): boolean {
    return this.queue.prefetch !== 0;
  }

  /** Every slot is taken: the queue's due rows may be a backlog this worker is draining. */
  get saturated(): boolean {
    return this.active.size >= this.queue.concurrency;
  }

  private canStart(name: string): boolean {
    if (this.active.size >= this.queue.concurrency) return false;
    const cap = this.handlers.get(name)!.concurrency;
    return cap === undefined || (this.runningByName.get(name) ?? 0) < cap;
  }

  private launch(row: ClaimedRow, lockedBy: string): void {
    this.runningByName.set(row.name, (this.runningByName.get(row.name) ?? 0) + 1);
    const entry = newActiveJob(row, lockedBy);
    this.active.add(entry);
    this.attempts.run(entry, row, this.handlers.get(row.name)!);
  }

  /** Fills free slots from the prefetched jobs, most urgent first (skipping names whose handler is full). */
  private startPrefetched(): void {
    if (this.startingPrefetched) return;
    this.startingPrefetched = true;
    const held = this.prefetched.length;
    try {
      for (let i = 0; i < this.prefetched.length && this.active.size < this.queue.concurrency; ) {
        const { row, lockedBy } = this.prefetched.at(i);
        if (!this.canStart(row.name)) {
          i++;
          continue;
        }
        this.prefetched.removeAt(i);
        this.launch(row, lockedBy);
      }
    } finally {
      this.startingPrefetched = false;
      this.startedFromHeld += held - this.prefetched.length;
      this.prefetched.sizer?.holding(held - this.prefetched.length, this.prefetched.length);
    }
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
  abortAll(reason: unknown): ReleasedJob[] {
    const released = this.unprefetch();
    for (const job of [...this.active.values()]) {
      abortJob(job, reason);
      if (this.settle(job)) released.push({ id: job.id, attempt: job.attempt, lockedBy: job.lockedBy });
    }
    return released;
  }

  /**
   * Attempts an operator cancelled (their rows are `cancelled` already), by id and the attempt
   * the cancel found (absent from an older process's NOTIFY: any attempt of the id): a running
   * one's signal is aborted with `reason` and its slot stays taken until the handler returns,
   * whose outcome is then dropped; a prefetched one is dropped unstarted. Returns the ids found
   * here, and the claims of the unstarted ones (whose attempts the caller undoes).
   */
  cancel(claims: ReadonlyArray<CancelledClaim>, reason: (id: string) => unknown): { found: string[]; unstarted: ReleasedJob[] } {
    const found: string[] = [];
    const unstarted: ReleasedJob[] = [];
    const wanted = new Map<string, number | undefined>(claims.map((c) => [c.id, c.attempt]));
    const aimedAt = (id: string, attempt: number) => wanted.has(id) && (wanted.get(id) ?? attempt) === attempt;
    for (const entry of this.active.values()) {
      if (entry.cancelled || !aimedAt(entry.id, entry.attempt)) continue;
      entry.cancelled = true;
      abortJob(entry, reason(entry.id));
      found.push(entry.id);
    }
    if (this.prefetched.has((p) => aimedAt(p.row.id, p.row.attempts))) {
      for (const p of this.prefetched.takeAll()) {
        if (!aimedAt(p.row.id, p.row.attempts)) {
          this.prefetched.add(p);
          continue;
        }
        found.push(p.row.id);
        unstarted.push(toReleased(p));
      }
    }
    return { found, unstarted };
  }

  /** The lease under `lockedBy` expired: those jobs may already run elsewhere, so stop working on them. */
  abandon(lockedBy: string): void {
    // Prefetched jobs claimed under it are dropped unstarted: others may be running them already.
    for (const p of this.prefetched.takeAll()) if (p.lockedBy !== lockedBy) this.prefetched.add(p);
    for (const job of [...this.active.values()]) {
      if (job.lockedBy !== lockedBy) continue;
      abortJob(job, new Error('worker lease expired; the job was handed to other workers'));
      this.settle(job);
    }
  }

  /**
   * Removes the job from the running set; false when it was already settled. `ended` says why a
   * job leaves without an ack (released: shutdown or a lost lease), for its telemetry scope.
   */
  private settle(entry: ActiveJob, ended: 'cancelled' | 'released' = 'released'): boolean {
    if (entry.settled) return false;
    entry.settled = true;
    entry.scope?.end(ended);
    // A transaction still open here belongs to an attempt that will not be acked.
    closeTransaction(entry);
    if (entry.timer) clearTimeout(entry.timer);
    this.progress?.forget(entry);
    this.active.delete(entry);
    this.runningByName.set(entry.name, (this.runningByName.get(entry.name) ?? 1) - 1);
    if (this.prefetched.length > 0) this.startPrefetched();
    if (this.active.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.onSlotFree();
    return true;
  }
}

const toReleased = (p: Prefetched): ReleasedJob => releasedJob(p.row, p.lockedBy);

/** A cancel's target: a job, and the attempt it cancelled when the NOTIFY or the check says. */
export interface CancelledClaim {
  id: string;
  attempt?: number;
}
