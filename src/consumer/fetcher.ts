import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { statementTag } from '../db/identifier.js';
import { ackAndClaimSql } from '../db/sql/ack-and-claim.js';
import { claimJobsSql, type ClaimedRow } from '../db/sql/claim-jobs.js';
import { reconcileJobsSql, releaseJobsSql } from '../db/sql/release-jobs.js';
import { ackParams, type Acker } from './acker.js';
import type { Worker } from './worker.js';

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
}

/**
 * The one fetcher of a queue in this process, shared by all its handlers.
 *
 * States: stopped (initial) -> started -> stopped. While started it claims when woken: by a
 * NOTIFY of its queue, by its poll tick, by a bus reconnect (catch-up), by a timer for the
 * earliest known future run_at, and by a freed slot when the last claim suggested more work.
 * Invariants: at most one claim is in flight; a wake during a claim sets `again`, so it is never
 * lost; a claim never asks for more jobs than the worker has free slots.
 */
export class Fetcher {
  private readonly logger: Logger;
  private readonly claimSql: string;
  private readonly claimName: string;
  private readonly ackAndClaimSql: string;
  private readonly ackAndClaimName: string;
  private started = false;
  private claiming: Promise<void> | null = null;
  private again = false;
  /** The queue may hold due jobs we have not claimed (set by every wake, cleared by a short claim). */
  private mayHaveMore = true;
  private wakeSeq = 0;
  private reconcileWanted = true;
  private pollTimer: NodeJS.Timeout | null = null;
  private dueTimer: NodeJS.Timeout | null = null;
  private dueAt = Number.POSITIVE_INFINITY;
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;
  private slotWakePending = false;

  constructor(private readonly ctx: FetcherContext) {
    this.logger = new Logger(`QueueFetcher:${ctx.queue}`);
    this.claimSql = claimJobsSql(ctx.schemaSql);
    this.claimName = `pgq_claim_${statementTag(ctx.schema)}`;
    this.ackAndClaimSql = ackAndClaimSql(ctx.schemaSql);
    this.ackAndClaimName = `pgq_ack_claim_${statementTag(ctx.schema)}`;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.pollTimer = setInterval(() => this.wake(), this.ctx.pollIntervalMs);
    this.wake();
  }

  /** Stops claiming and clears every timer; resolves once the claim in flight (if any) is done. */
  async stop(): Promise<void> {
    this.started = false;
    for (const t of [this.pollTimer, this.dueTimer, this.retryTimer]) if (t) clearTimeout(t);
    this.pollTimer = this.dueTimer = this.retryTimer = null;
    await this.claiming;
  }

  /** Something may be due: claim now, or right after the claim in flight. */
  wake(): void {
    if (!this.started) return;
    this.wakeSeq++;
    this.mayHaveMore = true;
    if (this.claiming) {
      this.again = true;
      return;
    }
    if (this.retryTimer) return; // backing off after a failure; the timer will wake us
    this.claiming = this.loop().finally(() => (this.claiming = null));
  }

  /**
   * A handler slot was freed (a handler finished, or its ack landed). The wake is deferred to the end of this turn of the event loop, so
   * slots freed together (short handlers finish in bursts) are refilled by one claim, not one each.
   */
  slotFreed(): void {
    if (!this.mayHaveMore || this.slotWakePending) return;
    this.slotWakePending = true;
    setImmediate(() => {
      this.slotWakePending = false;
      this.wake();
    });
  }

  /** Wake when a job becomes due in `delayMs` (a hint: polling still guarantees pickup). */
  wakeIn(delayMs: number): void {
    if (!this.started || !(delayMs >= 0)) return;
    const at = Date.now() + delayMs;
    if (this.dueTimer && at >= this.dueAt) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueAt = at;
    // Timers cap at ~24.8 days; a later job is found by polling anyway.
    this.dueTimer = setTimeout(() => {
      this.dueTimer = null;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.wake();
    }, Math.min(delayMs + 1, 2 ** 31 - 1));
  }

  /** Ask for a check of jobs marked running under our id that we do not hold (run before the next claim). */
  requestReconcile(): void {
    this.reconcileWanted = true;
    if (!this.claiming) this.wake();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      if (!this.started) return;
      try {
        if (this.reconcileWanted) await this.reconcile();
        await this.claimOnce();
        this.failures = 0;
      } catch (err) {
        // Our claim may have committed without us seeing the reply: check ownership before the next one.
        this.reconcileWanted = true;
        this.failures++;
        const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
        this.logger.warn(`claim failed (${(err as Error).message}); retrying in ${delay} ms`);
        if (this.started) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.wake();
          }, delay);
        }
        return;
      }
    } while (this.again);
  }

  private async claimOnce(): Promise<void> {
    // Queued acks ride in this claim and land with it. Finished jobs whose ack is written
    // elsewhere (or waits for a retry) are still running in the database: their slots stay taken.
    const acks = this.ctx.acker.borrow();
    const carried = acks.reduce((n, a) => (a.queue === this.ctx.queue ? n + 1 : n), 0);
    const { limit, names } = this.ctx.worker.capacity(this.ctx.acker.countFor(this.ctx.queue) - carried);
    if (limit <= 0) {
      if (acks.length > 0) this.ctx.acker.giveBack(acks);
      return;
    }
    const seq = this.wakeSeq;
    const lockedBy = this.ctx.workerId();
    const claimParams = [lockedBy, this.ctx.queue, names, limit, this.ctx.leaseMs];
    let rows: ClaimedRow[];
    if (acks.length === 0) {
      rows = (await this.ctx.pool.query<ClaimedRow>({ name: this.claimName, text: this.claimSql, values: claimParams })).rows;
    } else {
      let result: Array<ClaimedRow & { acked: boolean }>;
      try {
        // Prepared, as the acks alone are (see Acker.flush): parsing and planning this statement
        // cost about as much as running it.
        result = (await this.ctx.pool.query({ name: this.ackAndClaimName, text: this.ackAndClaimSql, values: [...ackParams(acks), ...claimParams] })).rows;
      } catch (err) {
        this.ctx.acker.giveBack(acks);
        throw err;
      }
      this.ctx.acker.settle(acks, new Set(result.filter((r) => r.acked).map((r) => r.id)));
      rows = result.filter((r) => !r.acked);
    }
    if (rows.length >= limit) {
      this.again = true; // a full claim: there may be more, take them as soon as slots allow
    } else if (this.wakeSeq === seq) {
      this.mayHaveMore = false;
    }
    if (!this.started) {
      // Stopped while claiming: hand the jobs straight back.
      await this.release(rows, lockedBy);
      return;
    }
    const overflow = this.ctx.worker.start(rows, lockedBy);
    if (overflow.length > 0) await this.release(overflow, lockedBy);
  }

  private async release(rows: ClaimedRow[], lockedBy: string): Promise<void> {
    if (rows.length === 0) return;
    await this.ctx.pool.query(releaseJobsSql(this.ctx.schemaSql), [rows.map((r) => r.id), rows.map((r) => r.attempts), rows.map(() => lockedBy)]);
  }

  private async reconcile(): Promise<void> {
    const held = [...this.ctx.worker.ownedIds(), ...this.ctx.acker.ownedIds(this.ctx.queue)];
    const r = await this.ctx.pool.query(reconcileJobsSql(this.ctx.schemaSql), [this.ctx.queue, this.ctx.workerId(), held]);
    this.reconcileWanted = false;
    if ((r.rowCount ?? 0) > 0) {
      this.logger.warn(`returned ${r.rowCount} job(s) marked running under this worker but not held by it to pending`);
      this.mayHaveMore = true;
      this.again = true;
    }
  }
}
