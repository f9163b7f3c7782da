import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { unhandledDueSql } from '../db/sql/admin.js';
import { didYouMean } from '../did-you-mean.js';

/** Past this many names, the watch says so once and warns about no more (a flood of typos is one problem). */
const MAX_WARNED_NAMES = 100;

/**
 * Warns about due jobs, in a queue this process serves, of a name no live worker has a handler
 * for (a typo in a push, a handler removed in a deploy): they would wait forever and silently.
 * One warning per queue and name for the life of the process, however many checks see it. A job
 * counts once it has been due for a whole check interval, so a worker booting beside this one has
 * time to register its names. A check is skipped while the queue's worker is saturated: then its
 * due rows may be a backlog of its own names, and scanning them would only cost the database.
 * States: idle -> watching -> stopped; one check at a time, and stop() awaits it.
 */
export class UnhandledNameWatch {
  private readonly logger = new Logger('QueueUnhandledNames');
  private readonly sql: string;
  private readonly warned = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private floodReported = false;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    /** The job names this process handles, by queue. */
    private readonly names: Map<string, string[]>,
    private readonly intervalMs: number,
    private readonly leaseMs: number,
    private readonly saturated: (queue: string) => boolean,
  ) {
    this.sql = unhandledDueSql(schemaSql);
  }

  /** Every 10 polls, between 1 s and 1 min. */
  static intervalFor(pollIntervalMs: number): number {
    return Math.min(60_000, Math.max(1_000, 10 * pollIntervalMs));
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.checking ??= this.check().finally(() => (this.checking = null));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
  }

  private async check(): Promise<void> {
    for (const [queue, handled] of this.names) {
      if (!this.timer) return;
      if (this.saturated(queue)) continue;
      let rows: Array<{ name: string; count: number }>;
      try {
        rows = (await this.pool.query(this.sql, [this.leaseMs, queue, this.intervalMs])).rows;
      } catch {
        // The database is unreachable or busy: the outage has its own warnings; try next time.
        return;
      }
      for (const { name, count } of rows) this.warn(queue, name, count, handled);
    }
  }

  private warn(queue: string, name: string, count: number, handled: string[]): void {
    const key = `${queue}\0${name}`;
    if (this.warned.has(key)) return;
    if (this.warned.size >= MAX_WARNED_NAMES) {
      if (!this.floodReported) {
        this.floodReported = true;
        this.logger.warn(`more than ${MAX_WARNED_NAMES} job names have no handler; no more are logged (QueueAdmin.stats() counts them under "unhandled")`);
      }
      return;
    }
    this.warned.add(key);
    const hint = didYouMean(name, handled).replace(/^; (.*)$/, ' ($1)');
    this.logger.warn(
      `queue "${queue}": ${count} due job(s) named ${JSON.stringify(name)} have no handler in any live worker${hint}. This process handles ${handled.map((n) => JSON.stringify(n)).join(', ')}; ` +
        `the jobs wait until a worker with @Process(${JSON.stringify(name)}) runs (QueueAdmin.stats() counts them under "unhandled").`,
    );
  }
}
