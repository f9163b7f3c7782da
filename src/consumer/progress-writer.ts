import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { progressSql } from '../db/sql/progress.js';
import type { ActiveJob } from './active-job.js';

/** At most one progress write per job in this many ms: a tight loop of reports costs a few writes a second. */
export const PROGRESS_INTERVAL_MS = 250;

interface Throttle {
  timer: NodeJS.Timeout | null;
  lastWriteAt: number;
}

/**
 * Writes the running jobs' `job.progress()` values (`entry.lastProgress`) for one worker,
 * throttled per job: a value reported within PROGRESS_INTERVAL_MS of the last write waits on a
 * timer, and only the latest one is written. The last value also rides on the attempt's ack, so
 * a write the ack overtook (and the fence then refused) loses nothing. Owns at most one timer per
 * job; `forget` clears it when the attempt ends.
 */
export class ProgressWriter {
  private readonly logger: Logger;
  private readonly sql: string;
  private readonly byJob = new Map<ActiveJob, Throttle>();

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    queue: string,
  ) {
    this.sql = progressSql(schemaSql);
    this.logger = new Logger(`QueueProgress:${queue}`);
  }

  /** `entry.lastProgress` changed: write it now, or when the throttle allows. */
  changed(entry: ActiveJob): void {
    if (entry.settled || entry.cancelled) return;
    let t = this.byJob.get(entry);
    if (!t) {
      t = { timer: null, lastWriteAt: 0 };
      this.byJob.set(entry, t);
    }
    if (t.timer) return;
    const wait = t.lastWriteAt + PROGRESS_INTERVAL_MS - Date.now();
    if (wait <= 0) this.write(entry, t);
    else t.timer = setTimeout(() => this.write(entry, t!), wait);
  }

  forget(entry: ActiveJob): void {
    const t = this.byJob.get(entry);
    if (t?.timer) clearTimeout(t.timer);
    this.byJob.delete(entry);
  }

  private write(entry: ActiveJob, t: Throttle): void {
    t.timer = null;
    t.lastWriteAt = Date.now();
    if (entry.settled || entry.lastProgress === null) return;
    this.pool
      .query(this.sql, [entry.id, entry.lockedBy, entry.attempt, entry.lastProgress])
      .catch((err) => this.logger.warn(`progress of job ${entry.id} not stored: ${(err as Error).message}`));
  }
}
