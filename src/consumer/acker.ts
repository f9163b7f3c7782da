import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { numberArray, textArray } from '../db/array-literal.js';
import { explainStatementError } from '../db/prepared-statements.js';
import { completeJobsSql, type AckStatus } from '../db/sql/complete-jobs.js';
import type { OutageSignal } from '../outage/outage-reporter.js';

export interface Ack {
  id: string;
  queue: string;
  /** The job's name and the attempt's run time: for the job events, not written. */
  name: string;
  durationMs: number;
  attempt: number;
  /** The worker id the job was claimed under (the fence). */
  lockedBy: string;
  status: AckStatus;
  /** JSON text of the result, or null. */
  result: string | null;
  error: string | null;
  retryDelayMs: number;
  /** The attempts the worker allowed this job (the push's, else the handler's, queue's or module's). */
  maxAttempts: number;
  /** The last `job.progress()` value (JSON text), or null. */
  progress: string | null;
}

const MAX_BATCH = 128;

/**
 * The nine arrays both the ack statement and the ack-and-claim statement bind, in order, as array
 * literals (see array-literal). Sorted
 * by id: the statement locks rows in this order, as the operator verbs do (see db/sql/operations),
 * so an ack and a bulk cancel never wait on each other in a cycle.
 */
export function ackParams(unsorted: Ack[]): unknown[] {
  const batch = unsorted.length > 1 ? [...unsorted].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : unsorted;
  return [
    textArray(batch.map((a) => a.id)),
    numberArray(batch.map((a) => a.attempt)),
    textArray(batch.map((a) => a.lockedBy)),
    textArray(batch.map((a) => a.status)),
    textArray(batch.map((a) => a.result)),
    textArray(batch.map((a) => a.error)),
    numberArray(batch.map((a) => a.retryDelayMs)),
    numberArray(batch.map((a) => a.maxAttempts)),
    textArray(batch.map((a) => a.progress)),
  ];
}

/**
 * Writes attempt outcomes. Acks that arrive while a write is in flight are batched into the next
 * single statement, so under load one UPDATE acks many jobs and at idle an ack goes out at once.
 * A fetcher about to claim may `borrow()` the queued acks and carry them in its claim statement
 * (one round trip and one commit for both); it then calls `settle()` or `giveBack()`.
 * A write that fails (say on a broken connection) is retried with backoff until it lands or
 * `stop()`'s deadline passes. Until an ack lands its job stays "owned" (see `ownedIds`), so
 * self-reconciliation never hands it back.
 * States: open -> stopping (flush until empty or deadline) -> stopped.
 */
export class Acker {
  private readonly logger = new Logger('QueueAcker');
  private readonly sql: string;
  private pending: Ack[] = [];
  /** Batches being written, by us or by a fetcher that borrowed them. */
  private readonly inFlight = new Set<Ack[]>();
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = 0;
  private stopping = false;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    /** The prepared statement's name, which follows the table's size (see PlanSizeClass). */
    private readonly statementName: () => string | undefined,
    /** Called once a batch was written: `landed` holds the ids the fence let through. */
    private readonly onSettled: (acks: Ack[], landed: Set<string>) => void,
    private readonly outage?: OutageSignal,
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
    for (const batch of this.inFlight) for (const a of batch) if (a.queue === queue) ids.push(a.id);
    for (const a of this.pending) if (a.queue === queue) ids.push(a.id);
    return ids;
  }

  /** Acks of `queue` not landed yet (queued, being written, or borrowed). */
  countFor(queue: string): number {
    let n = 0;
    for (const batch of this.inFlight) for (const a of batch) if (a.queue === queue) n++;
    for (const a of this.pending) if (a.queue === queue) n++;
    return n;
  }

  get size(): number {
    let n = this.pending.length;
    for (const batch of this.inFlight) n += batch.length;
    return n;
  }

  /** Hands the queued acks to a caller that writes them in its own statement. */
  borrow(): Ack[] {
    if (this.pending.length === 0 || this.retryTimer || this.stopped) return [];
    const batch = this.take();
    this.inFlight.add(batch);
    return batch;
  }

  /** The borrowed batch was written; `landed` holds the ids the fence let through. */
  settle(batch: Ack[], landed: Set<string>): void {
    this.inFlight.delete(batch);
    this.retryDelayMs = 0;
    this.report(batch, landed);
  }

  /** Acks written elsewhere (in a transactional handler's own commit): reported as if written here. */
  written(acks: Ack[], landed: Set<string>): void {
    this.report(acks, landed);
  }

  /** The borrowed batch could not be written: queue it again (first) and flush it ourselves. */
  giveBack(batch: Ack[]): void {
    this.inFlight.delete(batch);
    this.pending = batch.concat(this.pending);
    this.schedule();
  }

  /** Flushes what is queued, retrying until empty or `deadlineMs` from now; then drops the rest. */
  async stop(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    this.stopping = true;
    while (this.size > 0 && Date.now() < deadline) {
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
      }
      if (this.pending.length > 0 && !this.flushing) this.flushing = this.flush();
      if (this.flushing) await this.flushing;
      if (this.size > 0) {
        // A borrowed batch still in flight, or a failed write: wait a little and try again.
        await new Promise((r) => setTimeout(r, Math.min(Math.max(this.retryDelayMs, 20), Math.max(0, deadline - Date.now()))));
      }
    }
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.flushing;
    if (this.size > 0) {
      this.logger.error(`${this.size} ack(s) could not be written before shutdown; those jobs will be rescued and run again`);
      this.pending = [];
      this.inFlight.clear();
    }
  }

  /**
   * The next batch, at most MAX_BATCH acks: one huge UPDATE would hold its row locks and its
   * snapshot for long, and claims running meanwhile would walk more not-yet-dead index entries.
   */
  private take(): Ack[] {
    if (this.pending.length <= MAX_BATCH) {
      const batch = this.pending;
      this.pending = [];
      return batch;
    }
    return this.pending.splice(0, MAX_BATCH);
  }

  private schedule(): void {
    if (this.scheduled || this.flushing || this.retryTimer || this.stopped) return;
    this.scheduled = true;
    // setImmediate, not a timer: acks of jobs that finished in the same turn share one statement
    // (and a fetcher woken in the same turn gets the first chance to carry them).
    setImmediate(() => {
      this.scheduled = false;
      if (!this.flushing && !this.stopped && this.pending.length > 0) this.flushing = this.flush();
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.take();
        this.inFlight.add(batch);
        const began = Date.now();
        let landed: Set<string>;
        try {
          // Prepared (named): parsing and planning cost more than running it. Its plan does not
          // depend on the batch size (see complete-jobs), so a generic plan is as good as a custom one.
          const r = await this.pool.query<{ id: string }>({ name: this.statementName(), text: this.sql, values: ackParams(batch) });
          landed = new Set(r.rows.map((row) => row.id));
        } catch (err) {
          this.inFlight.delete(batch);
          this.pending = batch.concat(this.pending);
          this.retryDelayMs = Math.min(5000, Math.max(100, this.retryDelayMs * 2));
          const message = `ack of ${batch.length} job(s) failed (${(explainStatementError(err) as Error).message}); retrying in ${this.retryDelayMs} ms`;
          if (!this.outage?.failed('acks', err, `acks: database unavailable (${message}); finished jobs keep their slots until their acks land`)) {
            this.logger.warn(message);
          }
          if (!this.stopping) {
            this.retryTimer = setTimeout(() => {
              this.retryTimer = null;
              this.schedule();
            }, this.retryDelayMs);
          }
          return;
        }
        this.outage?.succeeded('acks', began);
        this.settle(batch, landed);
      }
    } finally {
      this.flushing = null;
    }
  }

  private report(batch: Ack[], landed: Set<string>): void {
    for (const a of batch) {
      if (!landed.has(a.id)) {
        this.logger.warn(
          `stale ack ignored: job ${a.id} attempt ${a.attempt} is no longer running under ${a.lockedBy} (rescued or re-claimed elsewhere)`,
        );
      }
    }
    this.onSettled(batch, landed);
  }
}
