import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { JobRecord, JobStatus } from '../job.interfaces.js';
import { getJobSql, statsSql, unhandledDueSql } from '../db/sql/admin.js';
import { currentStatus, JOB_STATUSES, toJobRecord, type JobRow } from '../db/sql/job-columns.js';
import { quoteIdent } from '../db/identifier.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from '../queue.tokens.js';
import type { ResolvedQueueOptions } from '../queue.options.js';

/** A queue's job counts by status, and its due jobs that no live worker can run. */
export type QueueCounts = Record<JobStatus, number> & {
  /** Due jobs by name that no live worker process has a handler for (a typo, a removed handler, no worker running). */
  unhandled: Record<string, number>;
  /** @deprecated Since 0.2: the count of `retrying` jobs under its 0.1 name; removed in 0.3. Not enumerable. */
  readonly failed: number;
};
export type QueueStats = Record<string, QueueCounts>;

function emptyCounts(): QueueCounts {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  Object.defineProperty(counts, 'failed', { get: () => counts.retrying, enumerable: false });
  return Object.assign(counts, { unhandled: {} }) as QueueCounts;
}

/** Read-side operations for dashboards and operators. */
@Injectable()
export class QueueAdmin {
  private readonly s: string;

  constructor(
    @Inject(QUEUE_POOL) private readonly pool: Pool,
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    @Inject(QUEUE_SCHEMA_READY) _ready: true,
  ) {
    this.s = quoteIdent(options.schema);
  }

  /** Every stored field of the job, or `null` when there is no job with this id. */
  async getJob<T = unknown>(id: string): Promise<JobRecord<T> | null> {
    if (typeof id !== 'string') return null;
    const r = await this.pool.query<JobRow>(getJobSql(this.s), [id]);
    return r.rows[0] ? (toJobRecord(r.rows[0]) as JobRecord<T>) : null;
  }

  /**
   * Job counts by queue and status, with `unhandled`: due jobs by name that no live worker
   * (heartbeat within `orphanTimeoutMs`) has a handler for. Every registered queue is present.
   */
  async stats(): Promise<QueueStats> {
    const out: QueueStats = {};
    for (const q of this.options.queues.keys()) out[q] = emptyCounts();
    const [counts, unhandled] = await Promise.all([
      this.pool.query<{ queue: string; status: string; count: number }>(statsSql(this.s)),
      this.pool.query<{ queue: string; name: string; count: number }>(unhandledDueSql(this.s), [this.options.orphanTimeoutMs, null, 0]),
    ]);
    for (const row of counts.rows) (out[row.queue] ??= emptyCounts())[currentStatus(row.status)] += row.count;
    for (const row of unhandled.rows) (out[row.queue] ??= emptyCounts()).unhandled[row.name] = row.count;
    return out;
  }
}
