import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { JobRecord, JobStatus } from '../job.interfaces.js';
import { getJobSql, unhandledDueSql } from '../db/sql/admin.js';
import { statusCounts } from './status-counts.js';
import { incidentFigures } from './incident-figures.js';
import { currentStatus, JOB_STATUSES, toJobRecord, type JobRow } from '../db/sql/job-columns.js';
import { controlChannel, jobsChannel, quoteIdent } from '../db/identifier.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from '../queue.tokens.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import type { JobFilter } from './job-filter.js';
import { JobOperations, type ListPage } from './job-operations.js';
import { QueuePauses, type PauseState } from './queue-pauses.js';
import { QueueEvents } from '../events/queue-events.js';

/** A queue's job counts by status, and what an operator needs in an incident. */
export type QueueCounts = Record<JobStatus, number> & {
  /** Due jobs by name that no live worker process has a handler for (a typo, a removed handler, no worker running). */
  unhandled: Record<string, number>;
  /** Paused with QueueAdmin.pause (cluster-wide): no process claims from it. */
  paused: boolean;
  /** How long the oldest due waiting job has been due (ms, the database's clock); null when none is due. */
  lagMs: number | null;
  /** Running jobs whose worker missed two heartbeats: rescued at `orphanTimeoutMs` unless it comes back. */
  staleRunning: number;
  /**
   * The statuses whose count is the planner's estimate, not a count: on a table past 500,000 rows the
   * finished ones (done, killed, cancelled), which only a scan could count. Empty when all are exact.
   */
  estimated: JobStatus[];
  /** @deprecated Since 0.2: the count of `retrying` jobs under its 0.1 name; removed in 0.3. Not enumerable. */
  readonly failed: number;
};
export type QueueStats = Record<string, QueueCounts>;

function emptyCounts(): QueueCounts {
  const counts = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  Object.defineProperty(counts, 'failed', { get: () => counts.retrying, enumerable: false });
  return Object.assign(counts, { unhandled: {}, paused: false, lagMs: null, staleRunning: 0, estimated: [] as JobStatus[] }) as unknown as QueueCounts;
}

/**
 * Reading and operating the queue: jobs (get, list, cancel, retry, promote, delete, and the bulk
 * forms over a filter), queues (pause, resume) and counts. Every verb is safe to call twice and
 * while workers run; each answers for a job it does not find (`outcome: 'not_found'`) rather than
 * throwing, and refuses bad input with InvalidJobError naming the field before anything is written.
 */
@Injectable()
export class QueueAdmin {
  private readonly s: string;
  private readonly ops: JobOperations;
  private readonly pauses: QueuePauses;

  constructor(
    @Inject(QUEUE_POOL) private readonly pool: Pool,
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    @Inject(QUEUE_SCHEMA_READY) _ready: true,
    events: QueueEvents,
  ) {
    this.s = quoteIdent(options.schema);
    const channels = { jobs: jobsChannel(options.schema), control: controlChannel(options.schema) };
    this.ops = new JobOperations(pool, this.s, channels, (jobs) => {
      for (const j of jobs) events.emit({ event: 'cancelled', job: { id: j.id, queue: j.queue } });
    });
    this.pauses = new QueuePauses(pool, this.s, channels, [...options.queues.keys()]);
  }

  /** Every stored field of the job, or `null` when there is no job with this id. */
  async getJob<T = unknown>(id: string): Promise<JobRecord<T> | null> {
    if (typeof id !== 'string') return null;
    const r = await this.pool.query<JobRow>(getJobSql(this.s), [id]);
    return r.rows[0] ? (toJobRecord(r.rows[0]) as JobRecord<T>) : null;
  }

  /** A page of jobs matching `filter`, newest first unless `page.order` is 'asc'; `next` continues it. */
  listJobs(filter?: JobFilter, page?: ListPage) {
    return this.ops.listJobs(filter, page);
  }

  /**
   * A waiting job becomes `cancelled` and never runs. A running one too: the process running it
   * aborts `job.signal` (reason: JobCancelledError) within one NOTIFY, or one poll interval if the
   * NOTIFY is lost, and its late result is not recorded. A handler that ignores the signal keeps
   * its slot until it returns. A finished job is left as it is (`already_finished`).
   */
  cancel(id: string) {
    return this.ops.cancel(id);
  }

  cancelMany(filter: JobFilter) {
    return this.ops.cancelMany(filter);
  }

  /** A killed, cancelled or retrying job runs again now; with its attempts used up it gets one more (or 0 with `resetAttempts`). */
  retry(id: string, options?: { resetAttempts?: boolean }) {
    return this.ops.retry(id, options);
  }

  retryMany(filter: JobFilter, options?: { resetAttempts?: boolean }) {
    return this.ops.retryMany(filter, options);
  }

  /** A waiting job due later is due now. */
  promote(id: string) {
    return this.ops.promote(id);
  }

  /** @throws JobRunningError for a running job. */
  delete(id: string) {
    return this.ops.delete(id);
  }

  /** Running jobs are skipped (`skippedRunning`). An empty filter is refused: say `{ all: true }`. */
  deleteMany(filter: JobFilter) {
    return this.ops.deleteMany(filter);
  }

  /** Pauses `queue` for every process, until `resume`: pushes are accepted, nothing is claimed, running jobs finish. */
  pause(queue: string, options?: { reason?: string }): Promise<PauseState> {
    return this.pauses.pause(queue, options);
  }

  resume(queue: string): Promise<boolean> {
    return this.pauses.resume(queue);
  }

  isPaused(queue: string): Promise<boolean> {
    return this.pauses.isPaused(queue);
  }

  /**
   * Job counts by queue and status, with `unhandled` (due jobs by name that no live worker, with a
   * heartbeat within `orphanTimeoutMs`, has a handler for) and `paused`. Every registered queue is present.
   * Past 500,000 rows the finished statuses are estimates (see `estimated`): counting them would scan.
   */
  async stats(): Promise<QueueStats> {
    const out: QueueStats = {};
    for (const q of this.options.queues.keys()) out[q] = emptyCounts();
    const queues = [...this.options.queues.keys()];
    const [counts, unhandled, paused, figures] = await Promise.all([
      statusCounts(this.pool, this.s, queues),
      this.pool.query<{ queue: string; name: string; count: number }>(unhandledDueSql(this.s), [this.options.orphanTimeoutMs, null, 0]),
      this.pauses.paused(),
      incidentFigures(this.pool, this.s, queues, this.options.heartbeatIntervalMs),
    ]);
    for (const [q, lag] of figures.lagMs) out[q].lagMs = lag;
    for (const [q, n] of figures.staleRunning) (out[q] ??= emptyCounts()).staleRunning = n;
    for (const row of counts.rows) (out[row.queue] ??= emptyCounts())[currentStatus(row.status)] += row.count;
    for (const q of Object.values(out)) q.estimated = [...(counts.estimated as JobStatus[])];
    for (const row of unhandled.rows) (out[row.queue] ??= emptyCounts()).unhandled[row.name] = row.count;
    for (const queue of paused.keys()) (out[queue] ??= emptyCounts()).paused = true;
    return out;
  }
}
