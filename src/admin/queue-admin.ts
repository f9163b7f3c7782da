import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { JobRecord, JobStatus } from '../job.interfaces.js';
import { getJobSql, statsSql } from '../db/sql/admin.js';
import { toJobRecord, type JobRow } from '../db/sql/job-columns.js';
import { quoteIdent } from '../db/identifier.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from '../queue.tokens.js';
import type { ResolvedQueueOptions } from '../queue.options.js';

export type QueueStats = Record<string, Record<JobStatus, number>>;

const STATUSES: JobStatus[] = ['pending', 'running', 'done', 'failed', 'killed'];

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

  /** Job counts by queue and status; every registered queue is present, with zeros. */
  async stats(): Promise<QueueStats> {
    const out: QueueStats = {};
    const empty = () => Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
    for (const q of this.options.queues.keys()) out[q] = empty();
    const r = await this.pool.query<{ queue: string; status: JobStatus; count: number }>(statsSql(this.s));
    for (const row of r.rows) (out[row.queue] ??= empty())[row.status] = row.count;
    return out;
  }
}
