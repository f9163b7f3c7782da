import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { jobsChannel } from '../db/identifier.js';
import { explainStatementError } from '../db/prepared-statements.js';
import type { ClaimedRow } from '../db/sql/claim-jobs.js';
import { releasedJob, type ReleasedJob } from '../db/sql/release-jobs.js';
import type { Ack, Acker } from './acker.js';
import type { DirectStarter, StartedJobInsert } from '../direct-start/local-workers.js';
import type { OutageSignal } from '../outage/outage-reporter.js';
import type { ClaimCapacity, Worker } from './worker.js';
import { ClaimFloor } from './claim-floor.js';
import { ClaimReturns } from './claim-returns.js';
import { ClaimStatements, type ClaimParams } from './claim-statements.js';
import { HeldJobsWatch } from './held-jobs-watch.js';
import { WakeTimers } from './wake-timers.js';
import type { Readiness } from '../direct-start/readiness.js';

export interface FetcherContext {
  pool: Pool;
  schemaSql: string;
  schema: string;
  queue: string;
  pollIntervalMs: number;
  worker: Worker;
  /** The current worker id (it changes when the lease is renewed). */
  workerId: () => string;
  /** The orphan timeout: claims are fenced on a heartbeat at most this old (see claim-jobs). */
  leaseMs: number;
  /** Acks not landed yet (still ours, not to be reconciled), which a claim may carry. */
  acker: Acker;
  /** Names a prepared statement after the table's size (see PlanSizeClass). */
  statementName: (base: string) => string | undefined;
  /** Where an unreachable database is reported (one warning per outage, not one per retry). */
  outage?: OutageSignal;
  /** This worker's advertisement to pushes of other processes (absent: `directStart: false`). */
  readiness?: Readiness;
}

/**
 * Claims in flight at once, at most, when the worker holds no jobs (`prefetch: 0`). A claim asks
 * for every free slot; a second one starts when slots free up while the first is still in flight
 * (handlers that finish at different times), so the database need not wait for that claim to
 * land before refilling them. Splitting the slots between two claims on purpose was measured and
 * rejected: smaller batches cost more per job, and with two worker processes the burn-down fell
 * from ~15,000 to ~10,500 jobs/s.
 *
 * A worker that holds jobs (`prefetch` 'auto' or a number) claims one at a time: its held jobs
 * start while the claim is on its way, so a second lane buys nothing, and with more processes
 * than cores it costs: 4 processes on 2 cores drained 46,000-50,000 jobs/s with one lane against
 * 39,000-43,000 with two (41-48 against 45-55 µs of machine CPU per job), with one process
 * within the noise (`PGQ_LANES`-patched runs of `node bench/run.mjs --only=nestjs-pg-queue,raw-sql-1x32 --procs=1,2,4`, 4 December).
 */
const MAX_LANES_UNHELD = 2;

/** A claim in flight: the slots it may fill (`limit`, of `names`) and the acks of this queue it carries (0 once they landed). */
interface Lane extends ClaimCapacity {
  carried: number;
}

/**
 * The one fetcher of a queue in this process, shared by all its handlers.
 *
 * States: stopped (initial) -> started -> stopped. While started it claims when woken: by a
 * NOTIFY of its queue, by a bus reconnect (catch-up), and through its WakeTimers by its poll
 * tick, by the earliest known future run_at, and by a freed slot when the last claim suggested
 * more work.
 * Invariants: at most `maxLanes` claims are in flight, and together they never ask for more jobs
 * than the worker has room for (free slots, plus free prefetch places: see Worker.capacity; each
 * claim reserves its limit until it lands); a wake while no claim
 * can start leaves `mayHaveMore` set, and every landing claim looks at it, so no wake is lost;
 * self-reconciliation runs only while no claim is in flight (a claim in flight holds rows the
 * worker does not know yet).
 */
export class Fetcher implements DirectStarter {
  private readonly logger: Logger;
  private readonly statements: ClaimStatements;
  private started = false;
  private readonly lanes = new Set<Lane>();
  /** Claims and reconciliations in flight, for stop(). */
  private readonly work = new Set<Promise<void>>();
  private reconciling = false;
  /** The queue may hold due jobs we have not claimed (set by every wake, cleared by a short claim). */
  private mayHaveMore = true;
  /**
   * The last claim to land was full: a backlog, where a second lane pays off. Without one (the
   * queue was nearly empty), a slot freed while a claim is in flight waits for it to land: a
   * second claim would mostly race the first for the same few jobs.
   */
  private backlog = false;
  /**
   * The last short claim left out names whose handler had no room (a handler's own concurrency):
   * jobs of those names may be waiting, to claim once a slot frees.
   */
  private skippedNames = false;
  private wakeSeq = 0;
  private reconcileWanted = true;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private readonly timers: WakeTimers;
  private readonly held: HeldJobsWatch;
  private readonly returns: ClaimReturns;
  private readonly maxLanes: number;
  private readonly floor = new ClaimFloor();

  constructor(private readonly ctx: FetcherContext) {
    this.logger = new Logger(`QueueFetcher:${ctx.queue}`);
    this.statements = new ClaimStatements(ctx.pool, ctx.schemaSql, ctx.schema, ctx.statementName);
    this.timers = new WakeTimers(
      ctx.pollIntervalMs,
      () => this.wake(),
      () => this.refill(),
    );
    this.held = new HeldJobsWatch(ctx.worker, (jobs) => this.handBack(jobs, 'held too long'));
    this.returns = new ClaimReturns(ctx.pool, ctx.schemaSql, jobsChannel(ctx.schema), ctx.queue);
    this.maxLanes = ctx.worker.holdsJobs ? 1 : MAX_LANES_UNHELD;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.timers.start();
    this.wake();
  }

  /**
   * Stops claiming and clears every timer; resolves once the claims in flight (if any) are done
   * and our readiness is withdrawn. A job handed to us just before that may still be on its way
   * in a NOTIFY we no longer hear: one reconciliation returns such rows to pending.
   */
  async stop(): Promise<void> {
    this.started = false;
    this.held.stop();
    this.timers.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    while (this.work.size > 0) await Promise.all([...this.work]);
    if (await this.ctx.readiness?.stop()) await this.reconcileNow().catch(() => undefined);
  }

  /**
   * A job a push handed to worker `to` (see insertHandedJobSql), already `running` under it:
   * ours starts it (no claim), or hands it back if it cannot; another worker's is not our concern.
   */
  handed(row: ClaimedRow, to: string): void {
    if (to !== this.ctx.workerId()) return;
    this.ctx.readiness?.taken();
    // Only if it can start now: a hand-off is never held (another worker may be idle).
    const now = this.started && this.ctx.worker.hasIdleSlot(row.name, this.ctx.acker.countFor(this.ctx.queue));
    const unwanted = now ? this.ctx.worker.start([row], to) : [releasedJob(row, to)];
    this.held.arm();
    if (unwanted.length > 0) this.handBack(unwanted, 'handed to this worker while it had no free slot');
    this.offerReadiness();
  }

  workerId(): string {
    return this.ctx.workerId();
  }

  /** Re-advertises readiness after a LISTEN reconnect or a new worker id; hand-offs lost meanwhile are reconciled. */
  listenerChanged(): void {
    this.ctx.readiness?.reset();
    this.requestReconcile();
  }

  /**
   * Something may be due: claim now, or as soon as a claim can start. New jobs may sort before
   * the claim floor, so the next claim reads the queue from its start.
   */
  wake(): void {
    this.floor.clear();
    this.refill();
  }

  /**
   * A push's NOTIFY: `top` and `firstMs` say where its jobs sort (absent from older triggers and
   * other notifications): the floor is cleared only if one may sort before it.
   */
  jobsNotified(top?: number, firstMs?: number): void {
    this.floor.notified(top, firstMs);
    this.refill();
  }

  /** Slots freed while the last claim suggested more work: claim again, from the floor if one is set. */
  private refill(): void {
    if (!this.started) return;
    this.wakeSeq++;
    this.mayHaveMore = true;
    this.pump();
  }

  /**
   * A handler slot was freed (a handler finished, or its ack landed). The wake is deferred to the end of this turn of the event loop, so
   * slots freed together (short handlers finish in bursts) are refilled by one claim, not one each.
   */
  slotFreed(): void {
    if (!this.mayHaveMore && !this.skippedNames) return;
    this.skippedNames = false;
    this.timers.soon();
  }

  /** Wake when a job becomes due in `delayMs` (a hint: polling still guarantees pickup). */
  wakeIn(delayMs: number): void {
    this.timers.wakeIn(delayMs);
  }

  /** Ask for a check of jobs marked running under our id that we do not hold (run before the next claim). */
  requestReconcile(): void {
    this.reconcileWanted = true;
    this.pump();
  }

  /** Starts what can start now: a reconciliation when one is wanted and no claim is in flight, else claims while lanes and slots allow. */
  private pump(): void {
    if (!this.started || this.retryTimer || this.reconciling) return;
    if (this.reconcileWanted) {
      if (this.lanes.size === 0) this.track(this.reconcile());
      return; // the last claim in flight calls pump() when it lands
    }
    while (this.lanes.size < (this.backlog ? this.maxLanes : 1) && this.mayHaveMore && this.launch());
  }

  private track(p: Promise<void>): void {
    this.work.add(p);
    // claim() and reconcile() handle their own errors; the catch only keeps a bug from becoming an unhandled rejection.
    p.finally(() => this.work.delete(p)).catch((err) => this.logger.error(`fetcher: ${(err as Error).message}`));
  }

  /** Starts one claim if there are free slots; false if not. */
  private launch(): boolean {
    // Queued acks ride in this claim and land with it. Finished jobs whose ack is written
    // elsewhere (by the acker, or carried by the other lane) are still running in the database:
    // their slots stay taken (the other lane's are part of its reservation).
    const acks = this.ctx.acker.borrow();
    const carried = acks.reduce((n, a) => (a.queue === this.ctx.queue ? n + 1 : n), 0);
    let carriedByLanes = 0;
    for (const l of this.lanes) carriedByLanes += l.carried;
    const unacked = this.ctx.acker.countFor(this.ctx.queue) - carried - carriedByLanes;
    // A lane holds its carried acks' rows `running` until it lands, and its claimed rows after:
    // it takes max(carried, limit) slots, not just its limit (it may carry more than it claims).
    const reserved = [...this.lanes].map((l) => ({ limit: Math.max(l.limit, l.carried), names: l.names }));
    const { limit, names } = this.ctx.worker.capacity(unacked, reserved);
    if (limit <= 0) {
      if (acks.length > 0) this.ctx.acker.giveBack(acks);
      return false;
    }
    const lane: Lane = { limit, names, carried };
    this.lanes.add(lane);
    this.track(this.claim(lane, acks));
    return true;
  }

  private async claim(lane: Lane, acks: Ack[]): Promise<void> {
    const seq = this.wakeSeq;
    const lockedBy = this.ctx.workerId();
    const claimParams: ClaimParams = [lockedBy, this.ctx.queue, lane.names, lane.limit, this.ctx.leaseMs];
    const began = Date.now();
    const sent = performance.now();
    const start = this.floor.begin();
    const floor = start.key;
    try {
      let rows: ClaimedRow[];
      if (acks.length === 0) {
        rows = await this.statements.claim(claimParams, floor);
      } else {
        let result: Array<ClaimedRow & { acked: boolean }>;
        try {
          result = await this.statements.ackAndClaim(acks, claimParams, floor);
        } catch (err) {
          this.ctx.acker.giveBack(acks);
          throw err;
        }
        this.ctx.acker.settle(acks, new Set(result.filter((r) => r.acked).map((r) => r.id)));
        // Landed: the acker no longer counts these acks, so neither may the lane (launch() takes
        // a lane's carried acks out of the acker's count). Else, while this lane hands overflow
        // back below, another claim would get their slots too, and running rows pass concurrency.
        lane.carried = 0;
        rows = result.filter((r) => !r.acked);
      }
      this.failures = 0;
      this.ctx.outage?.succeeded('claims', began);
      // A full claim leaves mayHaveMore as it is: there may be more, taken as soon as slots allow.
      this.backlog = rows.length >= lane.limit;
      this.floor.landed(start, rows, this.backlog, lane.names.length >= this.ctx.worker.handlerCount);
      if (!this.backlog && this.wakeSeq === seq) {
        this.mayHaveMore = false;
        if (lane.names.length < this.ctx.worker.handlerCount) this.skippedNames = true;
      }
      if (!this.started) {
        // Stopped while claiming: hand the jobs straight back.
        await this.returns.release(rows.map((r) => releasedJob(r, lockedBy)));
        return;
      }
      const overflow = this.ctx.worker.start(rows, lockedBy, performance.now() - sent);
      this.held.arm();
      if (this.ctx.worker.saturated) this.ctx.readiness?.withdraw();
      if (overflow.length > 0) {
        this.floor.clear(); // the released rows keep their place, which may be before the floor
        // They are jobs of a name whose handler had no room (its own concurrency): claim again
        // when a slot frees. A short claim had cleared mayHaveMore, and a release sends no
        // NOTIFY: without this the last of them waited for the poll tick.
        this.skippedNames = true;
        await this.returns.release(overflow);
      }
    } catch (err) {
      this.failed(err);
    } finally {
      // After a failure this is a no-op: failed() set the retry timer (or we are stopped).
      this.lanes.delete(lane);
      this.pump();
      this.offerReadiness();
    }
  }

  /**
   * Idle with a free slot, and the last claim found the queue empty: a push from any process may
   * hand us its job directly (see Readiness). A wake since then (mayHaveMore), a claim or a
   * reconciliation in flight or wanted rule it out: there may be older jobs to take first.
   */
  offerReadiness(): void {
    if (!this.ctx.readiness || !this.started || this.retryTimer || this.reconciling || this.reconcileWanted) return;
    if (this.mayHaveMore || this.lanes.size > 0 || this.ctx.worker.saturated) return;
    this.ctx.readiness.advertise();
  }

  /**
   * A direct start (see DirectStarter): a job pushed by this process while the queue is idle is
   * inserted already claimed by us, and starts when the INSERT returns. Taken only when a claim
   * could not have found anything older: no claim or reconciliation in flight or wanted, no wake
   * since the last claim came back short, no prefetched job waiting, and a free slot for `name`.
   * The insert is a lane of one while in flight, so claims and reconciliations count it as they
   * count a claim, and stop() waits for it.
   */
  startDirect(name: string, insert: StartedJobInsert): Promise<ClaimedRow | null> | null {
    if (!this.started || this.retryTimer || this.reconciling || this.reconcileWanted || this.mayHaveMore || this.lanes.size > 0) return null;
    if (!this.ctx.worker.hasIdleSlot(name, this.ctx.acker.countFor(this.ctx.queue))) return null;
    const lane: Lane = { limit: 1, names: [name], carried: 0 };
    this.lanes.add(lane);
    const lockedBy = this.ctx.workerId();
    const landed = this.landDirect(lane, insert(lockedBy, this.ctx.leaseMs), lockedBy);
    this.track(landed.then(
      () => undefined,
      () => undefined,
    ));
    return landed;
  }

  private async landDirect(lane: Lane, inserting: Promise<ClaimedRow | null>, lockedBy: string): Promise<ClaimedRow | null> {
    try {
      const row = await inserting.catch((err) => {
        // Without an SQLSTATE the statement may have committed unseen (a broken connection):
        // check for rows marked ours that we do not hold, as after a failed claim.
        if ((err as { code?: unknown }).code === undefined) this.reconcileWanted = true;
        throw err;
      });
      // Null: our heartbeat was too old for the lease fence, and nothing was inserted.
      if (row) {
        const unwanted = this.started ? this.ctx.worker.start([row], lockedBy) : [releasedJob(row, lockedBy)];
        this.held.arm(); // held, if a claim took the slot meanwhile
        if (this.ctx.worker.saturated) this.ctx.readiness?.withdraw();
        await this.returns.release(unwanted).catch((err) => {
          this.reconcileWanted = true;
          this.logger.warn(`could not hand a directly started job back (${(err as Error).message}); it will be reconciled or rescued`);
        });
      }
      return row;
    } finally {
      this.lanes.delete(lane);
      this.pump();
    }
  }

  private failed(err: unknown): void {
    // Our claim may have committed without us seeing the reply: check ownership before the next one.
    this.reconcileWanted = true;
    this.floor.clear();
    this.failures++;
    if (!this.started || this.retryTimer) return;
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
    const message = `claim failed (${(explainStatementError(err) as Error).message}); retrying in ${delay} ms`;
    if (!this.ctx.outage?.failed('claims', err, `claims of queue "${this.ctx.queue}": database unavailable (${message})`)) this.logger.warn(message);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.wake();
    }, delay);
  }

  /** Hands jobs back in the background (tracked for stop()); if that fails they are reconciled. */
  private handBack(jobs: ReleasedJob[], why: string): void {
    this.floor.clear();
    this.track(
      this.returns.handBack(jobs).catch((err) => {
        this.reconcileWanted = true;
        this.logger.warn(`could not hand back ${jobs.length} job(s) ${why} (${(err as Error).message}); they will be reconciled or rescued`);
      }),
    );
  }

  /** Returns rows marked running under our id that we do not hold to pending; resolves to how many. */
  private async reconcileNow(): Promise<number> {
    const held = [...this.ctx.worker.ownedIds(), ...this.ctx.acker.ownedIds(this.ctx.queue)];
    const returned = await this.returns.reconcile(this.ctx.workerId(), held);
    if (returned > 0) this.logger.warn(`returned ${returned} job(s) marked running under this worker but not held by it to pending`);
    return returned;
  }

  private async reconcile(): Promise<void> {
    this.reconciling = true;
    try {
      const returned = await this.reconcileNow();
      this.reconcileWanted = false;
      if (returned > 0) {
        this.mayHaveMore = true;
        this.floor.clear();
      }
    } catch (err) {
      this.failed(err);
    } finally {
      this.reconciling = false;
    }
    this.pump(); // a no-op after a failure (the retry timer is set)
    this.offerReadiness();
  }
}
