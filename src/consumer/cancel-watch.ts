import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { cancelledAmongSql } from '../db/sql/cancelled.js';
import { releaseJobsParams, releaseJobsSql, type ReleasedJob } from '../db/sql/release-jobs.js';
import { JobCancelledError } from '../errors.js';
import type { CancelledClaim, Worker } from './worker.js';

/**
 * Brings operator cancels to the jobs this process holds. A cancel NOTIFYs the ids of the running
 * jobs it cancelled, with their attempts, on the control channel (`notified`); as the NOTIFY may
 * be lost (a LISTEN reconnect), every `intervalMs` the held claims are also checked against the
 * table, one primary-key lookup each. Both aim at a claim, not an id: by the time a NOTIFY is
 * heard the job may have been retried and claimed again here. A cancelled job held unstarted is
 * dropped and its claim's attempt undone.
 * States: idle -> watching -> stopped; stop() awaits a check and the undos in flight.
 */
export class CancelWatch {
  private readonly logger = new Logger('QueueCancelWatch');
  private readonly sql: string;
  private readonly releaseSql: string;
  private readonly undoing = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    private readonly workers: () => Iterable<Worker>,
    private readonly intervalMs: number,
  ) {
    this.sql = cancelledAmongSql(schemaSql);
    this.releaseSql = releaseJobsSql(schemaSql);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.checkNow(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
    await Promise.allSettled([...this.undoing]);
  }

  /** A control-channel message: cancels the listed jobs held here. Anything else is ignored. */
  notified(message: { type?: unknown; ids?: unknown; attempts?: unknown }): void {
    if (message.type !== 'cancel' || !Array.isArray(message.ids)) return;
    const attempts = Array.isArray(message.attempts) && message.attempts.length === message.ids.length ? message.attempts : [];
    const claims: CancelledClaim[] = [];
    message.ids.forEach((id: unknown, i) => {
      if (typeof id !== 'string') return;
      const attempt = attempts[i];
      claims.push(Number.isInteger(attempt) ? { id, attempt: attempt as number } : { id });
    });
    this.apply(claims);
  }

  /** Checks the held jobs now (also after a LISTEN reconnect, when NOTIFYs may have been missed). */
  checkNow(): void {
    if (this.checking) return;
    const held = [...this.workers()].flatMap((w) => w.ownedClaims());
    if (held.length === 0) return;
    this.checking = this.pool
      .query<{ id: string; attempt: number }>(this.sql, releaseJobsParams(held))
      .then((r) => this.apply(r.rows.map((row) => ({ id: row.id, attempt: row.attempt }))))
      .catch(() => undefined) // the database is unreachable: the outage is reported elsewhere; next tick
      .finally(() => (this.checking = null));
  }

  private apply(claims: CancelledClaim[]): void {
    if (claims.length === 0) return;
    const unstarted: ReleasedJob[] = [];
    for (const worker of this.workers()) {
      const taken = worker.cancel(claims, (id) => new JobCancelledError(id));
      for (const id of taken.found) this.logger.log(`job ${id} was cancelled: its signal is aborted`);
      unstarted.push(...taken.unstarted);
    }
    if (unstarted.length > 0) this.undoAttempts(unstarted);
  }

  private undoAttempts(jobs: ReleasedJob[]): void {
    const undo = this.pool
      .query(this.releaseSql, releaseJobsParams(jobs))
      // Unreachable database: the attempt stays counted; the job is cancelled all the same.
      .catch((e: unknown) => this.logger.warn(`could not undo the attempt of ${jobs.length} cancelled unstarted job(s): ${String(e)}`))
      .finally(() => this.undoing.delete(undo));
    this.undoing.add(undo);
  }
}
