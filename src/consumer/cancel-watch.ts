import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { cancelledAmongSql } from '../db/sql/cancelled.js';
import { JobCancelledError } from '../errors.js';
import type { Worker } from './worker.js';

/**
 * Brings operator cancels to the jobs this process holds. A cancel NOTIFYs the ids of the running
 * jobs it cancelled on the control channel (`notified`); as the NOTIFY may be lost (a LISTEN
 * reconnect), every `intervalMs` the held ids are also checked against the table, one
 * primary-key lookup each. States: idle -> watching -> stopped; stop() awaits a check in flight.
 */
export class CancelWatch {
  private readonly logger = new Logger('QueueCancelWatch');
  private readonly sql: string;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    private readonly workers: () => Iterable<Worker>,
    private readonly intervalMs: number,
  ) {
    this.sql = cancelledAmongSql(schemaSql);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.checkNow(), this.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
  }

  /** A control-channel message: cancels the listed jobs held here. Anything else is ignored. */
  notified(message: { type?: unknown; ids?: unknown }): void {
    if (message.type !== 'cancel' || !Array.isArray(message.ids)) return;
    this.apply(message.ids.filter((id): id is string => typeof id === 'string'));
  }

  /** Checks the held jobs now (also after a LISTEN reconnect, when NOTIFYs may have been missed). */
  checkNow(): void {
    if (this.checking) return;
    const held = [...this.workers()].flatMap((w) => w.ownedIds());
    if (held.length === 0) return;
    this.checking = this.pool
      .query<{ id: string }>(this.sql, [held])
      .then((r) => this.apply(r.rows.map((row) => row.id)))
      .catch(() => undefined) // the database is unreachable: the outage is reported elsewhere; next tick
      .finally(() => (this.checking = null));
  }

  private apply(ids: string[]): void {
    if (ids.length === 0) return;
    for (const worker of this.workers()) {
      const found = worker.cancel(ids, (id) => new JobCancelledError(id));
      for (const id of found) this.logger.log(`job ${id} was cancelled: its signal is aborted`);
    }
  }
}
