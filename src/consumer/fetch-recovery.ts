import type { Logger } from '@nestjs/common';
import { explainStatementError } from '../db/prepared-statements.js';
import type { ReleasedJob } from '../db/sql/release-jobs.js';
import type { ClaimFloor } from './claim-floor.js';
import type { ClaimReturns } from './claim-returns.js';
import type { FetchState, FetcherContext } from './fetch-state.js';

/** What recovery needs of its fetcher. */
export interface RecoveryHost {
  /** Claim now (a retry after a failure). */
  wake(): void;
  /** Start whatever can start now (claims, a wanted reconciliation). */
  pump(): void;
  offerReadiness(): void;
  /** Keeps `p` for the fetcher's stop() to wait on. */
  track(p: Promise<void>): void;
}

/**
 * A fetcher's way back from what went wrong: the retry (with backoff) after a failed claim or
 * reconciliation, hand-backs of jobs it will not run, and self-reconciliation (rows marked
 * running under our id that we do not hold go back to pending). Owns the retry timer (kept in
 * FetchState, whose `retrying` it is).
 */
export class FetchRecovery {
  private failures = 0;

  constructor(
    private readonly state: FetchState,
    private readonly ctx: FetcherContext,
    private readonly returns: ClaimReturns,
    private readonly floor: ClaimFloor,
    private readonly logger: Logger,
    private readonly host: RecoveryHost,
  ) {}

  stop(): void {
    if (this.state.retryTimer) clearTimeout(this.state.retryTimer);
    this.state.retryTimer = null;
  }

  succeeded(): void {
    this.failures = 0;
  }

  failed(err: unknown): void {
    // Our claim may have committed without us seeing the reply: check ownership before the next one.
    this.state.reconcileWanted = true;
    this.floor.clear();
    this.failures++;
    if (!this.state.started || this.state.retrying) return;
    const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
    const message = `claim failed (${(explainStatementError(err) as Error).message}); retrying in ${delay} ms`;
    if (!this.ctx.outage?.failed('claims', err, `claims of queue "${this.ctx.queue}": database unavailable (${message})`)) this.logger.warn(message);
    this.state.retryTimer = setTimeout(() => {
      this.state.retryTimer = null;
      this.host.wake();
    }, delay);
  }

  /** Hands jobs back in the background (tracked for stop()); if that fails they are reconciled. */
  handBack(jobs: ReleasedJob[], why: string): void {
    this.floor.clear();
    this.host.track(
      this.returns.handBack(jobs).catch((err) => {
        this.state.reconcileWanted = true;
        this.logger.warn(`could not hand back ${jobs.length} job(s) ${why} (${(err as Error).message}); they will be reconciled or rescued`);
      }),
    );
  }

  /** Returns rows marked running under our id that we do not hold to pending; resolves to how many. */
  async reconcileNow(): Promise<number> {
    const held = [...this.ctx.worker.ownedIds(), ...this.ctx.acker.ownedIds(this.ctx.queue)];
    const returned = await this.returns.reconcile(this.ctx.workerId(), held);
    if (returned > 0) this.logger.warn(`returned ${returned} job(s) marked running under this worker but not held by it to pending`);
    return returned;
  }

  /** A reconciliation while no claim is in flight (a claim in flight holds rows the worker does not know yet). */
  async reconcile(): Promise<void> {
    this.state.reconciling = true;
    try {
      const returned = await this.reconcileNow();
      this.state.reconcileWanted = false;
      if (returned > 0) {
        this.state.mayHaveMore = true;
        this.floor.clear();
      }
    } catch (err) {
      this.failed(err);
    } finally {
      this.state.reconciling = false;
    }
    this.host.pump(); // a no-op after a failure (the retry timer is set)
    this.host.offerReadiness();
  }
}
