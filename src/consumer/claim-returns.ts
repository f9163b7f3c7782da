import type { Pool } from 'pg';
import { handBackJobsSql, reconcileJobsSql, releaseJobsParams, releaseJobsSql, type ReleasedJob } from '../db/sql/release-jobs.js';

/**
 * The statements by which one queue's fetcher gives claimed jobs back or takes stock of them:
 * `release` (unstarted claims given up: awaited by a claim that must keep their slots until it
 * lands), `handBack` (the same in the background, with a NOTIFY so other processes claim them at
 * once) and `reconcile` (rows marked running under this worker that it does not hold, back to
 * pending). Each rejects as its statement does: the fetcher decides what a failure means.
 */
export class ClaimReturns {
  private readonly releaseSql: string;
  private readonly handBackSql: string;
  private readonly reconcileSql: string;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    /** The jobs channel (its NOTIFY wakes the queue's fetchers everywhere) and the queue. */
    private readonly channel: string,
    private readonly queue: string,
  ) {
    this.releaseSql = releaseJobsSql(schemaSql);
    this.handBackSql = handBackJobsSql(schemaSql);
    this.reconcileSql = reconcileJobsSql(schemaSql);
  }

  async release(jobs: ReleasedJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.pool.query(this.releaseSql, releaseJobsParams(jobs));
  }

  async handBack(jobs: ReleasedJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.pool.query(this.handBackSql, [...releaseJobsParams(jobs), this.channel, this.queue]);
  }

  /** How many rows marked running under `workerId` and not in `held` went back to pending. */
  async reconcile(workerId: string, held: string[]): Promise<number> {
    const r = await this.pool.query(this.reconcileSql, [this.queue, workerId, held]);
    return r.rowCount ?? 0;
  }
}
