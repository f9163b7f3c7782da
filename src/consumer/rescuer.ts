import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { rescueOrphansSql } from '../db/sql/rescue-orphans.js';
import type { QueueEvents } from '../events/queue-events.js';
import type { OutageSignal } from '../outage/outage-reporter.js';

/** Periodically returns the jobs of dead workers to `pending`. One per process; stop() awaits the run. */
export class Rescuer {
  private readonly logger = new Logger('QueueRescuer');
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly schemaSql: string,
    private readonly channel: string,
    private readonly orphanTimeoutMs: number,
    private readonly intervalMs: number,
    private readonly outage?: OutageSignal,
    private readonly events?: QueueEvents,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.rescueNow(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs one rescue pass, or joins the one already under way. */
  rescueNow(): Promise<void> {
    if (this.running) return this.running;
    const began = Date.now();
    this.running = this.pool
      .query(rescueOrphansSql(this.schemaSql), [this.orphanTimeoutMs, this.channel])
      .then((r) => {
        this.outage?.succeeded('rescue', began);
        const n = r.rows[0]?.rescued ?? 0;
        if (n > 0 && this.events) {
          for (const j of r.rows[0].jobs as Array<{ id: string; queue: string; name: string; attempt: number; error: string }>) {
            this.events.emit({ event: 'rescued', job: { id: j.id, queue: j.queue, name: j.name, attempt: j.attempt }, error: j.error });
          }
        }
        if (n > 0) this.logger.warn(`rescued ${n} job(s) from workers that stopped heartbeating`);
      })
      .catch((err) => {
        const message = `rescue failed: ${(err as Error).message}`;
        if (!this.outage?.failed('rescue', err, `rescue: database unavailable (${message})`)) this.logger.warn(message);
      })
      .finally(() => (this.running = null));
    return this.running;
  }
}
