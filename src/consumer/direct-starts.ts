import type { Logger } from '@nestjs/common';
import type { ClaimedRow } from '../db/sql/claim-jobs.js';
import { releasedJob, type ReleasedJob } from '../db/sql/release-jobs.js';
import type { FetchState, FetcherContext, Lane } from './fetch-state.js';
import type { StartedJobInsert } from '../direct-start/local-workers.js';

/** What direct starts and hand-offs need of the queue's fetcher. */
export interface DirectStartHost {
  /** Starts `rows` claimed under `lockedBy` in the worker; returns those it could not start. */
  start(rows: ClaimedRow[], lockedBy: string): ReleasedJob[];
  /** Returns jobs to pending now (awaited); a failure is the caller's. */
  release(jobs: ReleasedJob[]): Promise<void>;
  /** Returns jobs to pending in the background (a failure is reconciled). */
  handBack(jobs: ReleasedJob[], why: string): void;
  /** Keeps `p` for the fetcher's stop() to wait on. */
  track(p: Promise<void>): void;
  /** Start whatever can start now (claims, a wanted reconciliation). */
  pump(): void;
}

/**
 * The jobs a queue's worker takes without a claim of its own: a push of this process started
 * directly (its INSERT is the claim), and a job a push of another process handed to it. Both only
 * while its fetcher is idle (see FetchState.idle): a claim then could not find anything older.
 */
export class DirectStarts {
  constructor(
    private readonly state: FetchState,
    private readonly ctx: FetcherContext,
    private readonly logger: Logger,
    private readonly host: DirectStartHost,
  ) {}

  /**
   * A job a push handed to worker `to` (see insertHandedJobSql), already `running` under it:
   * ours starts it (no claim), or hands it back if it cannot; another worker's is not our concern.
   */
  handed(row: ClaimedRow, to: string): void {
    if (to !== this.ctx.workerId()) return;
    this.ctx.readiness?.taken();
    // Only if it can start now: a hand-off is never held (another worker may be idle).
    const now = this.state.started && this.ctx.worker.hasIdleSlot(row.name, this.ctx.acker.countFor(this.ctx.queue));
    const unwanted = now ? this.host.start([row], to) : [releasedJob(row, to)];
    if (unwanted.length > 0) this.host.handBack(unwanted, 'handed to this worker while it had no free slot');
    this.offerReadiness();
  }

  /**
   * Idle with a free slot, and the last claim found the queue empty: a push from any process may
   * hand us its job directly (see Readiness). A wake since then (mayHaveMore), a claim or a
   * reconciliation in flight or wanted rule it out: there may be older jobs to take first.
   */
  offerReadiness(): void {
    if (!this.ctx.readiness || !this.state.idle || this.ctx.worker.saturated) return;
    this.ctx.readiness.advertise();
  }

  /**
   * A direct start (see DirectStarter): a job pushed by this process while the queue is idle is
   * inserted already claimed by us, and starts when the INSERT returns. Taken only when the
   * fetcher is idle and `name` has a free slot. The insert is a lane of one while in flight, so
   * claims and reconciliations count it as they count a claim, and the fetcher's stop() waits for it.
   */
  startDirect(name: string, insert: StartedJobInsert): Promise<ClaimedRow | null> | null {
    if (!this.state.idle) return null;
    if (!this.ctx.worker.hasIdleSlot(name, this.ctx.acker.countFor(this.ctx.queue))) return null;
    const lane: Lane = { limit: 1, names: [name], carried: 0 };
    this.state.lanes.add(lane);
    const lockedBy = this.ctx.workerId();
    const landed = this.land(lane, insert(lockedBy, this.ctx.leaseMs), lockedBy);
    this.host.track(landed.then(
      () => undefined,
      () => undefined,
    ));
    return landed;
  }

  private async land(lane: Lane, inserting: Promise<ClaimedRow | null>, lockedBy: string): Promise<ClaimedRow | null> {
    try {
      const row = await inserting.catch((err) => {
        // Without an SQLSTATE the statement may have committed unseen (a broken connection):
        // check for rows marked ours that we do not hold, as after a failed claim.
        if ((err as { code?: unknown }).code === undefined) this.state.reconcileWanted = true;
        throw err;
      });
      // Null: our heartbeat was too old for the lease fence, and nothing was inserted.
      if (row) {
        // Held, if a claim took the slot meanwhile.
        const unwanted = this.state.started ? this.host.start([row], lockedBy) : [releasedJob(row, lockedBy)];
        await this.host.release(unwanted).catch((err) => {
          this.state.reconcileWanted = true;
          this.logger.warn(`could not hand a directly started job back (${(err as Error).message}); it will be reconciled or rescued`);
        });
      }
      return row;
    } finally {
      this.state.lanes.delete(lane);
      this.host.pump();
    }
  }
}
