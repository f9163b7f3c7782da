import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { refreshWorkerSql, registerWorkerSql, unregisterWorkerSql } from '../db/sql/heartbeat.js';
import type { OutageSignal } from '../outage/outage-reporter.js';
import type { WorkerIdentity } from './worker-identity.js';

/**
 * Keeps this process's `workers` rows fresh. States: stopped -> running -> stopped.
 * Invariant: rows are registered before `start()` resolves, so no job is claimed by a worker
 * without a row. A refresh that changes nothing means the lease expired: the identity is renewed
 * and registered again, and `onLeaseLost` lets the owner forget the jobs it can no longer ack.
 */
export class Heartbeat {
  private readonly logger = new Logger('QueueHeartbeat');
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly schemaSql: string,
    private readonly identity: WorkerIdentity,
    /** The job names this process has handlers for, by queue. */
    private readonly names: Map<string, string[]>,
    private readonly intervalMs: number,
    private readonly orphanTimeoutMs: number,
    private readonly onTick: () => void,
    private readonly onLeaseLost: (oldWorkerId: string) => void,
    private readonly outage?: OutageSignal,
  ) {}

  private get queues(): string[] {
    return [...this.names.keys()];
  }

  async start(): Promise<void> {
    if (this.timer) return;
    await this.register();
    this.timer = setInterval(() => {
      if (this.beating) return;
      this.beating = this.beat().finally(() => (this.beating = null));
    }, this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    await this.pool
      .query(unregisterWorkerSql(this.schemaSql), [this.identity.workerId, this.identity.leaseHash])
      .catch((err) => this.logger.warn(`could not remove worker rows: ${(err as Error).message}`));
  }

  /** When this process's worker rows were last written (registered or refreshed); null before. */
  lastBeatAt: number | null = null;

  private async register(): Promise<void> {
    this.lastBeatAt = null;
    await this.pool.query(registerWorkerSql(this.schemaSql), [
      this.identity.workerId,
      this.identity.leaseHash,
      this.queues,
      JSON.stringify(Object.fromEntries(this.names)),
    ]);
    this.lastBeatAt = Date.now();
  }

  private async beat(): Promise<void> {
    const began = Date.now();
    try {
      const r = await this.pool.query(refreshWorkerSql(this.schemaSql), [
        this.identity.workerId,
        this.identity.leaseHash,
        this.orphanTimeoutMs,
      ]);
      if (r.rowCount !== this.queues.length) {
        const old = this.identity.workerId;
        this.identity.renew();
        this.logger.warn(`lease of worker ${old} expired (frozen or cut off); continuing as ${this.identity.workerId}`);
        await this.register();
        this.onLeaseLost(old);
      }
      this.outage?.succeeded('heartbeat', began);
      this.lastBeatAt = began;
      this.onTick();
    } catch (err) {
      const message = `heartbeat failed: ${(err as Error).message}`;
      if (!this.outage?.failed('heartbeat', err, `heartbeat: database unavailable (${message}); this worker's jobs are rescued by others if it stays out past orphanTimeoutMs`)) {
        this.logger.warn(message);
      }
    }
  }
}
