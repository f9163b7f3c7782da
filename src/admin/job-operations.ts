import type { Pool } from 'pg';
import { InvalidJobError, JobRunningError } from '../errors.js';
import type { JobRecord, JobStatus } from '../job.interfaces.js';
import { currentStatus, toJobRecord, type JobRow } from '../db/sql/job-columns.js';
import { cancelJobsSql, deleteJobsSql, listJobsSql, promoteJobsSql, retryJobsSql, selectIdsSql } from '../db/sql/operations.js';
import { isJobId, refusedPath, validateFilter, type JobFilter, type ValidatedFilter } from './job-filter.js';

export type CancelOutcome = 'cancelled' | 'not_found' | 'already_finished';
export type RetryOutcome = 'retried' | 'not_found' | 'not_retryable';
export type PromoteOutcome = 'promoted' | 'not_found' | 'not_delayed';
export type DeleteOutcome = 'deleted' | 'not_found';

/** What a verb did to one job, and the job's status after it (`null`: no such job, or deleted). */
export interface OperationResult<O extends string> {
  id: string;
  outcome: O;
  status: JobStatus | null;
}

export interface BulkResult {
  /** Jobs the verb changed. */
  count: number;
}

export interface ListPage {
  /** Continue after this id (the `next` of the previous page). */
  after?: string;
  /** 1 to 1000; default 100. */
  limit?: number;
  /** By id, so by creation time: default `desc` (newest first). */
  order?: 'asc' | 'desc';
}

interface VerbRow {
  id: string;
  queue: string;
  was: string;
  changed: boolean;
  status: string;
}

/** Rows a bulk verb handles per statement: short locks, and claims never wait long behind one. */
export const BULK_BATCH = 1000;
/** Two writers that lock in different orders (a rescue, a release) can still deadlock: Postgres ends one; retry it. */
const RETRYABLE = new Set(['40P01', '40001']);

/**
 * The operator verbs on jobs, on a pool: used by QueueAdmin and by the CLI. A single verb answers
 * for one id; a bulk verb walks the filter's matches in id order, `BULK_BATCH` at a time, each
 * batch one short statement, and returns how many it changed.
 */
export class JobOperations {
  constructor(
    private readonly pool: Pool,
    private readonly schemaSql: string,
    /** The NOTIFY channels: jobs (wakes fetchers) and control (cancel of running jobs). */
    private readonly channels: { jobs: string; control: string },
    /** Told of the jobs a cancel changed (QueueAdmin: the `cancelled` event). */
    private readonly onCancelled?: (jobs: Array<{ id: string; queue: string }>) => void,
  ) {}

  async cancel(id: string): Promise<OperationResult<CancelOutcome>> {
    const row = await this.one(cancelJobsSql(this.schemaSql), id, [this.channels.control]);
    if (!row) return { id, outcome: 'not_found', status: null };
    if (row.changed) this.onCancelled?.([row]);
    return { id, outcome: row.changed ? 'cancelled' : 'already_finished', status: currentStatus(row.status) };
  }

  async cancelMany(filter: JobFilter): Promise<BulkResult> {
    return this.bulk(filter, cancelJobsSql(this.schemaSql), [this.channels.control], (rows) => this.onCancelled?.(rows.filter((r) => r.changed)));
  }

  async retry(id: string, options: { resetAttempts?: boolean } = {}): Promise<OperationResult<RetryOutcome>> {
    const reset = resetFlag(options);
    const row = await this.one(retryJobsSql(this.schemaSql), id, [this.channels.jobs, reset]);
    if (!row) return { id, outcome: 'not_found', status: null };
    return { id, outcome: row.changed ? 'retried' : 'not_retryable', status: currentStatus(row.status) };
  }

  async retryMany(filter: JobFilter, options: { resetAttempts?: boolean } = {}): Promise<BulkResult> {
    return this.bulk(filter, retryJobsSql(this.schemaSql), [this.channels.jobs, resetFlag(options)]);
  }

  async promote(id: string): Promise<OperationResult<PromoteOutcome>> {
    const row = await this.one(promoteJobsSql(this.schemaSql), id, [this.channels.jobs]);
    if (!row) return { id, outcome: 'not_found', status: null };
    return { id, outcome: row.changed ? 'promoted' : 'not_delayed', status: currentStatus(row.status) };
  }

  /** @throws JobRunningError for a running job: cancel it first (its handler is still at work). */
  async delete(id: string): Promise<OperationResult<DeleteOutcome>> {
    const row = await this.one(deleteJobsSql(this.schemaSql), id, []);
    if (!row) return { id, outcome: 'not_found', status: null };
    if (!row.changed) throw new JobRunningError(id);
    return { id, outcome: 'deleted', status: null };
  }

  /** Running jobs are left alone and counted in `skippedRunning`. */
  async deleteMany(filter: JobFilter): Promise<BulkResult & { skippedRunning: number }> {
    let skippedRunning = 0;
    const { count } = await this.bulk(filter, deleteJobsSql(this.schemaSql), [], (rows) => {
      skippedRunning += rows.filter((r) => !r.changed).length;
    });
    return { count, skippedRunning };
  }

  /** One page of matching jobs, newest first by default; `next` continues it (null at the end). */
  async listJobs(filter: JobFilter = {}, page: ListPage = {}): Promise<{ jobs: JobRecord[]; next: string | null }> {
    const criteria = validateFilter(filter, false);
    if (criteria.limit !== undefined) throw new InvalidJobError('filter.limit', "is for bulk verbs: a page's size is page.limit");
    const { after, limit, order } = validatePage(page);
    const q = listJobsSql(this.schemaSql, criteria, order);
    const { rows } = await this.pool.query<JobRow>(q.sql, [after, limit + 1, ...q.params]).catch(refusedPath);
    const more = rows.length > limit;
    const jobs = rows.slice(0, limit).map(toJobRecord);
    return { jobs, next: more ? jobs[jobs.length - 1].id : null };
  }

  private async one(sql: string, id: unknown, params: unknown[]): Promise<VerbRow | null> {
    if (!isJobId(id)) throw new InvalidJobError('id', `must be a job id (a ULID in canonical upper-case form), got ${JSON.stringify(id) ?? String(id)}`);
    const rows = await this.run(sql, [[id], ...params]);
    return rows[0] ?? null;
  }

  private async bulk(filter: JobFilter, sql: string, params: unknown[], onBatch?: (rows: VerbRow[]) => void): Promise<BulkResult> {
    const criteria: ValidatedFilter = validateFilter(filter, true);
    const select = selectIdsSql(this.schemaSql, criteria);
    let cursor = '';
    let count = 0;
    let left = criteria.limit ?? Number.POSITIVE_INFINITY;
    while (left > 0) {
      const size = Math.min(BULK_BATCH, left);
      const ids = (await this.pool.query<{ id: string }>(select.sql, [cursor, size, ...select.params]).catch(refusedPath)).rows.map((r) => r.id);
      if (ids.length === 0) break;
      const rows = await this.run(sql, [ids, ...params]);
      onBatch?.(rows);
      const changed = rows.filter((r) => r.changed).length;
      count += changed;
      left -= ids.length;
      cursor = ids[ids.length - 1];
      if (ids.length < size) break;
    }
    return { count };
  }

  private async run(sql: string, params: unknown[]): Promise<VerbRow[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.pool.query<VerbRow>(sql, params)).rows;
      } catch (err) {
        if (attempt >= 5 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
      }
    }
  }
}

function resetFlag(options: { resetAttempts?: boolean }): boolean {
  if (options === null || typeof options !== 'object') throw new InvalidJobError('options', 'must be an object');
  const { resetAttempts = false } = options;
  if (typeof resetAttempts !== 'boolean') throw new InvalidJobError('options.resetAttempts', 'must be a boolean');
  return resetAttempts;
}

function validatePage(page: ListPage): { after: string | null; limit: number; order: 'asc' | 'desc' } {
  if (page === null || typeof page !== 'object') throw new InvalidJobError('page', 'must be an object');
  for (const key of Object.keys(page)) {
    if (!['after', 'limit', 'order'].includes(key)) throw new InvalidJobError(`page.${key}`, 'is not a page option (after, limit, order)');
  }
  if (page.after !== undefined && !isJobId(page.after)) throw new InvalidJobError('page.after', 'must be a job id (a ULID)');
  const limit = page.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new InvalidJobError('page.limit', 'must be an integer from 1 to 1000');
  const order = page.order ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new InvalidJobError('page.order', "must be 'asc' or 'desc'");
  return { after: page.after ?? null, limit, order };
}

