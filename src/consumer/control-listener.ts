import type { Pool } from 'pg';
import { queueStatesSql } from '../db/sql/queues.js';
import type { ReleasedJob } from '../db/sql/release-jobs.js';
import { CancelWatch } from './cancel-watch.js';
import type { Worker } from './worker.js';

/**
 * What the workers of this process do about operator actions on the control channel: a cancel of
 * jobs they hold (through CancelWatch, which also checks at every poll), a pause of a queue they
 * serve (prefetched jobs handed back, none held until the resume). Owns the CancelWatch.
 * States: idle -> started -> stopped.
 */
export class ControlListener {
  private readonly cancelWatch: CancelWatch;

  constructor(
    private readonly pool: Pool,
    private readonly schemaSql: string,
    private readonly workers: Map<string, Worker>,
    pollIntervalMs: number,
    /** Hands jobs this process holds but will not run back to `pending`. */
    private readonly release: (jobs: ReleasedJob[], what: string) => Promise<void>,
  ) {
    this.cancelWatch = new CancelWatch(pool, schemaSql, () => workers.values(), pollIntervalMs);
  }

  start(): void {
    this.cancelWatch.start();
  }

  stop(): Promise<void> {
    return this.cancelWatch.stop();
  }

  /** A control-channel NOTIFY. */
  notified(payload: string): void {
    let msg: { type?: unknown; ids?: unknown; queue?: unknown };
    try {
      msg = JSON.parse(payload);
    } catch {
      return;
    }
    this.cancelWatch.notified(msg);
    const worker = typeof msg.queue === 'string' ? this.workers.get(msg.queue) : undefined;
    // Paused: jobs claimed ahead of a slot go back at once (the claim already takes nothing new).
    if (worker && msg.type === 'pause') void this.release(worker.suspendPrefetch(), `prefetched job(s) of paused queue "${msg.queue}"`);
    if (worker && msg.type === 'resume') worker.resumePrefetch();
  }

  /** After a LISTEN reconnect, NOTIFYs may have been missed: check held jobs and pause states now. */
  reconnected(): void {
    this.cancelWatch.checkNow();
    void this.recheckPauses();
  }

  /** Prefetch again where the queue is no longer paused (its resume's NOTIFY was lost). */
  private async recheckPauses(): Promise<void> {
    const suspended = [...this.workers].filter(([, w]) => w.isPrefetchSuspended);
    if (suspended.length === 0) return;
    try {
      const { rows } = await this.pool.query<{ name: string }>(queueStatesSql(this.schemaSql), [null]);
      const paused = new Set(rows.map((r) => r.name));
      for (const [queue, w] of suspended) if (!paused.has(queue)) w.resumePrefetch();
    } catch {
      // Unreachable now: the next reconnect checks again; meanwhile the worker claims without prefetch.
    }
  }
}
