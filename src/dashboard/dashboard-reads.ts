import type { Pool } from 'pg';
import type { QueueAdmin, QueueStats } from '../admin/queue-admin.js';
import { liveWorkersSql, throughputSql } from '../db/sql/dashboard.js';
import { quoteIdent } from '../db/identifier.js';
import type { JobRecord } from '../job.interfaces.js';
import type { ResolvedQueueOptions } from '../queue.options.js';

export interface Overview {
  at: string;
  queues: QueueStats;
  /** Per queue, one point per minute of the last hour that had finished jobs. */
  throughput: Record<string, Array<{ minute: number; done: number; failed: number }>>;
  workers: Array<{ workerId: string; queue: string; startedAt: Date; heartbeatAgeMs: number; names: string[]; running: number }>;
}

/** A job as the dashboard shows it: its payload cut past `previewBytes` of JSON. */
export type DashboardJob = Omit<JobRecord, 'data'> & { data: unknown; dataBytes: number; dataTruncated: boolean; dataPreview?: string };

/** The reads behind the overview and the job view. */
export class DashboardReads {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    private readonly options: ResolvedQueueOptions,
    private readonly admin: QueueAdmin,
  ) {
    this.s = quoteIdent(options.schema);
  }

  async overview(): Promise<Overview> {
    const [queues, throughput, workers] = await Promise.all([
      this.admin.stats(),
      this.pool.query<{ queue: string; minute: number; done: number; failed: number }>(throughputSql(this.s)),
      this.pool.query(liveWorkersSql(this.s), [this.options.orphanTimeoutMs]),
    ]);
    const byQueue: Overview['throughput'] = {};
    for (const r of throughput.rows) (byQueue[r.queue] ??= []).push({ minute: r.minute, done: r.done, failed: r.failed });
    return {
      at: new Date().toISOString(),
      queues,
      throughput: byQueue,
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

  /** The job with its payload cut to `previewBytes` (the whole payload: `payload(id)`). */
  static shown(job: JobRecord, previewBytes: number): DashboardJob {
    const text = JSON.stringify(job.data) ?? 'null';
    const bytes = Buffer.byteLength(text);
    if (bytes <= previewBytes) return { ...job, dataBytes: bytes, dataTruncated: false };
    return { ...job, data: null, dataBytes: bytes, dataTruncated: true, dataPreview: text.slice(0, previewBytes) };
  }
}
