import type { Pool } from 'pg';
import type { QueueAdmin, QueueStats } from '../admin/queue-admin.js';
import { countUpToSql, failureGroupIdsSql, failureGroupsSql, liveWorkersSql } from '../db/sql/dashboard.js';
import { ThroughputMinutes, type MinutePoint } from './throughput-minutes.js';
import { filterWhere } from '../db/sql/job-filter.js';
import { refusedPath, validateFilter, type JobFilter } from '../admin/job-filter.js';
import { quoteIdent } from '../db/identifier.js';
import type { JobRecord } from '../job.interfaces.js';
import type { ResolvedQueueOptions } from '../queue.options.js';

export interface Overview {
  at: string;
  queues: QueueStats;
  /** One point per minute of the last hour that had finished jobs, all queues together. */
  throughput: MinutePoint[];
  workers: Array<{ workerId: string; queue: string; startedAt: Date; heartbeatAgeMs: number; names: string[]; running: number }>;
}

/** A job as the dashboard shows it: its payload cut past `previewBytes` of JSON. */
export type DashboardJob = Omit<JobRecord, 'data'> & { data: unknown; dataBytes: number; dataTruncated: boolean; dataPreview?: string };

export interface FailureGroup {
  fingerprint: string;
  queue: string;
  name: string;
  /** The error's first line with ids and numbers blanked, and its top stack frame the same way. */
  shape: string;
  frame: string;
  count: number;
  killed: number;
  latestId: string;
  latestError: string | null;
}

/** Failed jobs a failures read looks at, and a group retry retries at most. */
export const FAILURE_WINDOW = 10_000;
/** A bulk preview counts up to this many jobs ("10,000 or more"). */
export const PREVIEW_CAP = 100_000;

/** The reads behind the overview, the failures and the bulk previews. */
export class DashboardReads {
  private readonly s: string;
  private readonly throughput: ThroughputMinutes;

  constructor(
    private readonly pool: Pool,
    private readonly options: ResolvedQueueOptions,
    private readonly admin: QueueAdmin,
  ) {
    this.s = quoteIdent(options.schema);
    this.throughput = new ThroughputMinutes(pool, this.s);
  }

  async overview(): Promise<Overview> {
    const [queues, throughput, workers] = await Promise.all([
      this.admin.stats(),
      this.throughput.read(),
      this.pool.query(liveWorkersSql(this.s), [this.options.orphanTimeoutMs]),
    ]);
    return {
      at: new Date().toISOString(),
      queues,
      throughput,
      workers: workers.rows.map((w) => ({
        workerId: w.worker_id,
        queue: w.queue,
        startedAt: w.started_at,
        heartbeatAgeMs: Math.max(0, Math.round(w.heartbeat_age_ms)),
        names: w.names,
        running: w.running,
      })),
    };
  }

  async failures(queue: string | null): Promise<FailureGroup[]> {
    const { rows } = await this.pool.query(failureGroupsSql(this.s), [FAILURE_WINDOW, queue]);
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      queue: r.queue,
      name: r.name,
      shape: r.shape,
      frame: r.frame,
      count: r.count,
      killed: r.killed,
      latestId: r.latest_id,
      latestError: r.latest_error,
    }));
  }

  /** The killed jobs of a fingerprint among the latest FAILURE_WINDOW. */
  async failureIds(fingerprint: string): Promise<string[]> {
    return (await this.pool.query<{ id: string }>(failureGroupIdsSql(this.s), [FAILURE_WINDOW, fingerprint])).rows.map((r) => r.id);
  }

  /** How many jobs `filter` selects, up to PREVIEW_CAP; `capped` when there are at least that many. */
  async countUpTo(filter: JobFilter): Promise<{ count: number; capped: boolean }> {
    const where = filterWhere(validateFilter(filter, true), 1);
    const { rows } = await this.pool.query<{ n: number }>(countUpToSql(this.s, where.sql, where.params.length + 1), [...where.params, PREVIEW_CAP]).catch(refusedPath);
    return { count: rows[0].n, capped: rows[0].n >= PREVIEW_CAP };
  }

  /** The job with its payload cut to `previewBytes` (the whole payload: `payload(id)`). */
  static shown(job: JobRecord, previewBytes: number): DashboardJob {
    const text = JSON.stringify(job.data) ?? 'null';
    const bytes = Buffer.byteLength(text);
    if (bytes <= previewBytes) return { ...job, dataBytes: bytes, dataTruncated: false };
    return { ...job, data: null, dataBytes: bytes, dataTruncated: true, dataPreview: text.slice(0, previewBytes) };
  }
}
