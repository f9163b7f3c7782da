import { Logger } from '@nestjs/common';
import { jobsChannel } from '../db/identifier.js';
import type { ClaimedRow } from '../db/sql/claim-jobs.js';
import { releasedJob, type ReleasedJob } from '../db/sql/release-jobs.js';
import { DirectStarts } from './direct-starts.js';
import type { DirectStarter, StartedJobInsert } from '../direct-start/local-workers.js';
import type { Ack } from './acker.js';
import { ClaimFloor } from './claim-floor.js';
import { ClaimReturns } from './claim-returns.js';
import { ClaimStatements, type ClaimParams } from './claim-statements.js';
import { FetchRecovery } from './fetch-recovery.js';
import { FetchState, MAX_LANES_UNHELD, type FetcherContext, type Lane } from './fetch-state.js';
import { HeldJobsWatch } from './held-jobs-watch.js';
import { WakeTimers } from './wake-timers.js';

export type { FetcherContext } from './fetch-state.js';

/**
 * The one fetcher of a queue in this process, shared by all its handlers.
 *
 * States (see FetchState): stopped (initial) -> started -> stopped; while started, a retry after a
 * failure or a reconciliation pauses claiming. It claims when woken: by a NOTIFY of its queue, by
 * a bus reconnect (catch-up), and through its WakeTimers by its poll tick, by the earliest known
 * future run_at, and by a freed slot when the last claim suggested more work. Jobs taken without a
 * claim (direct starts, hand-offs) are DirectStarts'; failures, hand-backs and reconciliation are
 * FetchRecovery's.
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
  private readonly state = new FetchState();
  /** Claims and reconciliations in flight, for stop(). */
  private readonly work = new Set<Promise<void>>();
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
  private readonly timers: WakeTimers;
  private readonly held: HeldJobsWatch;
  private readonly returns: ClaimReturns;
  private readonly recovery: FetchRecovery;
  private readonly direct: DirectStarts;
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
    this.returns = new ClaimReturns(ctx.pool, ctx.schemaSql, jobsChannel(ctx.schema), ctx.queue);
    const track = (p: Promise<void>) => this.track(p);
    const pump = () => this.pump();
    this.recovery = new FetchRecovery(this.state, ctx, this.returns, this.floor, this.logger, {
      wake: () => this.wake(),
      pump,
      offerReadiness: () => this.offerReadiness(),
      track,
    });
    this.held = new HeldJobsWatch(ctx.worker, (jobs) => this.recovery.handBack(jobs, 'held too long'));
    this.direct = new DirectStarts(this.state, ctx, this.logger, {
      start: (rows, lockedBy) => this.startRows(rows, lockedBy),
      release: (jobs) => this.returns.release(jobs),
      handBack: (jobs, why) => this.recovery.handBack(jobs, why),
      track,
      pump,
    });
    this.maxLanes = ctx.worker.holdsJobs ? 1 : MAX_LANES_UNHELD;
  }

  start(): void {
    if (this.state.started) return;
    this.state.started = true;
    this.timers.start();
    this.wake();
  }

  /**
   * Stops claiming and clears every timer; resolves once the claims in flight (if any) are done
   * and our readiness is withdrawn. A job handed to us just before that may still be on its way
   * in a NOTIFY we no longer hear: one reconciliation returns such rows to pending.
   */
  async stop(): Promise<void> {
    this.state.started = false;
    this.held.stop();
    this.timers.stop();
    this.recovery.stop();
    while (this.work.size > 0) await Promise.all([...this.work]);
    if (await this.ctx.readiness?.stop()) await this.recovery.reconcileNow().catch(() => undefined);
  }

  /** A job a push handed to worker `to` (see DirectStarts.handed). */
  handed(row: ClaimedRow, to: string): void {
    this.direct.handed(row, to);
  }

  /** See DirectStarts.startDirect. */
  startDirect(name: string, insert: StartedJobInsert): Promise<ClaimedRow | null> | null {
    return this.direct.startDirect(name, insert);
  }

  /** Lets pushes hand us a job if we are idle (see DirectStarts.offerReadiness). */
  offerReadiness(): void {
    this.direct.offerReadiness();
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
    if (!this.state.started) return;
    this.wakeSeq++;
    this.state.mayHaveMore = true;
    this.pump();
  }

  /**
   * A handler slot was freed (a handler finished, or its ack landed). The wake is deferred to the end of this turn of the event loop, so
   * slots freed together (short handlers finish in bursts) are refilled by one claim, not one each.
   */
  slotFreed(): void {
    if (!this.state.mayHaveMore && !this.skippedNames) return;
    this.skippedNames = false;
    this.timers.soon();
  }

  /** Wake when a job becomes due in `delayMs` (a hint: polling still guarantees pickup). */
  wakeIn(delayMs: number): void {
    this.timers.wakeIn(delayMs);
  }

  /** Ask for a check of jobs marked running under our id that we do not hold (run before the next claim). */
  requestReconcile(): void {
    this.state.reconcileWanted = true;
    this.pump();
  }

  /** Starts what can start now: a reconciliation when one is wanted and no claim is in flight, else claims while lanes and slots allow. */
  private pump(): void {
    const state = this.state;
    if (!state.claiming) return;
    if (state.reconcileWanted) {
      if (state.lanes.size === 0) this.track(this.recovery.reconcile());
      return; // the last claim in flight calls pump() when it lands
    }
    while (state.lanes.size < (this.backlog ? this.maxLanes : 1) && state.mayHaveMore && this.launch());
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
    for (const l of this.state.lanes) carriedByLanes += l.carried;
    const unacked = this.ctx.acker.countFor(this.ctx.queue) - carried - carriedByLanes;
    // A lane holds its carried acks' rows `running` until it lands, and its claimed rows after:
    // it takes max(carried, limit) slots, not just its limit (it may carry more than it claims).
    const reserved = [...this.state.lanes].map((l) => ({ limit: Math.max(l.limit, l.carried), names: l.names }));
    const { limit, names } = this.ctx.worker.capacity(unacked, reserved);
    if (limit <= 0) {
      if (acks.length > 0) this.ctx.acker.giveBack(acks);
      return false;
    }
    const lane: Lane = { limit, names, carried };
    this.state.lanes.add(lane);
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
      this.recovery.succeeded();
      this.ctx.outage?.succeeded('claims', began);
      // A full claim leaves mayHaveMore as it is: there may be more, taken as soon as slots allow.
      this.backlog = rows.length >= lane.limit;
      this.floor.landed(start, rows, this.backlog, lane.names.length >= this.ctx.worker.handlerCount);
      if (!this.backlog && this.wakeSeq === seq) {
        this.state.mayHaveMore = false;
        if (lane.names.length < this.ctx.worker.handlerCount) this.skippedNames = true;
      }
      if (!this.state.started) {
        // Stopped while claiming: hand the jobs straight back.
        await this.returns.release(rows.map((r) => releasedJob(r, lockedBy)));
        return;
      }
      const overflow = this.startRows(rows, lockedBy, performance.now() - sent);
      if (overflow.length > 0) {
        this.floor.clear(); // the released rows keep their place, which may be before the floor
        // They are jobs of a name whose handler had no room (its own concurrency): claim again
        // when a slot frees. A short claim had cleared mayHaveMore, and a release sends no
        // NOTIFY: without this the last of them waited for the poll tick.
        this.skippedNames = true;
        await this.returns.release(overflow);
      }
    } catch (err) {
      this.recovery.failed(err);
    } finally {
      // After a failure this is a no-op: failed() set the retry timer (or we are stopped).
      this.state.lanes.delete(lane);
      this.pump();
      this.offerReadiness();
    }
  }

  /** Starts claimed (or directly started, or handed) rows in the worker; returns those it could not start. */
  private startRows(rows: ClaimedRow[], lockedBy: string, claimMs?: number): ReleasedJob[] {
    const overflow = this.ctx.worker.start(rows, lockedBy, claimMs);
    this.held.arm();
    if (this.ctx.worker.saturated) this.ctx.readiness?.withdraw();
    return overflow;
  }
}
