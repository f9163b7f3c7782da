import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { completeJobsSql, type AckStatus } from '../db/sql/complete-jobs.js';

export interface Ack {
  id: string;
  queue: string;
  attempt: number;
  /** The worker id the job was claimed under (the fence). */
  lockedBy: string;
  status: AckStatus;
  /** JSON text of the result, or null. */
  result: string | null;
  error: string | null;
  retryDelayMs: number;
}

/**
 * Writes attempt outcomes. Acks that arrive while a write is in flight are batched into the next
 * single statement, so under load one UPDATE acks many jobs and at idle an ack goes out at once.
 * A write that fails (say on a broken connection) is retried with backoff until it lands or
 * `stop()`'s deadline passes; the jobs it holds are "owned" meanwhile, so self-reconciliation
 * does not hand them back.
 * States: open -> stopping (flush until empty or deadline) -> stopped.
 */
export class Acker {
  private readonly logger = new Logger('QueueAcker');
  private readonly sql: string;
  private pending: Ack[] = [];
  private inFlight: Ack[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = 0;
  private deadline = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    private readonly onLanded: (acks: Ack[]) => void,
  ) {
    this.sql = completeJobsSql(schemaSql);
  }

  add(ack: Ack): void {
    this.pending.push(ack);
    this.schedule();
  }

  /** Ids of `queue` whose ack has not landed yet. */
  ownedIds(queue: string): string[] {
    const ids: string[] = [];
    for (const a of this.inFlight) if (a.queue === queue) ids.push(a.id);
    for (const a of this.pending) if (a.queue === queue) ids.push(a.id);
    return ids;
  }

  get size(): number {
    return this.pending.length + this.inFlight.length;
  }

  /** Flushes what is queued, retrying until empty or `deadlineMs` from now; then drops the rest. */
  async stop(deadlineMs: number): Promise<void> {
    this.deadline = Date.now() + deadlineMs;
    while (this.size > 0 && Date.now() < this.deadline) {
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.retryDelayMs = Math.min(this.retryDelayMs, 250);
      }
      if (!this.flushing) this.flushing = this.flush();
      await this.flushing;
      if (this.size > 0) await new Promise((r) => setTimeout(r, Math.min(this.retryDelayMs || 50, Math.max(0, this.deadline - Date.now()))));
    }
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.flushing;
    if (this.size > 0) {
      this.logger.error(`${this.size} ack(s) could not be written before shutdown; those jobs will be rescued and run again`);
      this.pending = [];
      this.inFlight = [];
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.retryTimer || this.stopped) return;
    this.scheduled = true;
    // setImmediate, not a timer: acks of jobs that finished in the same turn share one statement.
    setImmediate(() => {
      this.scheduled = false;
      if (!this.flushing && !this.stopped) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        this.inFlight = this.pending;
        this.pending = [];
        const batch = this.inFlight;
        let landed: Set<string>;
        try {
          // Unnamed on purpose: a prepared statement's generic plan guesses 100 rows for unnest()
          // and can pick a nested loop that is quadratic in the batch size; a custom plan sees the arrays.
          const r = await this.pool.query<{ id: string }>({
            text: this.sql,
            values: [
              batch.map((a) => a.id),
              batch.map((a) => a.attempt),
              batch.map((a) => a.lockedBy),
              batch.map((a) => a.status),
              batch.map((a) => a.result),
              batch.map((a) => a.error),
              batch.map((a) => a.retryDelayMs),
            ],
          });
          landed = new Set(r.rows.map((row) => row.id));
        } catch (err) {
          // Put the batch back in front and retry later with backoff.
          this.pending = batch.concat(this.pending);
          this.inFlight = [];
          this.retryDelayMs = Math.min(5000, Math.max(100, this.retryDelayMs * 2));
          this.logger.warn(`ack of ${batch.length} job(s) failed (${(err as Error).message}); retrying in ${this.retryDelayMs} ms`);
          if (!this.stopped && Number.isFinite(this.deadline) === false) {
            this.retryTimer = setTimeout(() => {
              this.retryTimer = null;
              this.schedule();
            }, this.retryDelayMs);
          }
          return;
        }
        this.retryDelayMs = 0;
        this.inFlight = [];
        for (const a of batch) {
          if (!landed.has(a.id)) {
            this.logger.warn(
              `stale ack ignored: job ${a.id} attempt ${a.attempt} is no longer running under ${a.lockedBy} (rescued or re-claimed elsewhere)`,
            );
          }
        }
        this.onLanded(batch.filter((a) => landed.has(a.id)));
      }
    } finally {
      this.flushing = null;
    }
  }
}
