import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';

/** 2^10 pages = 8 MB: from there on every generic plan of the hot statements uses the indexes. */
const TOP_CLASS = 10;

/**
 * Names the hot prepared statements (claim, ack, ack-and-claim) after the size of the jobs table.
 *
 * Why: Postgres gives a prepared statement a generic plan after five runs, made for the table as
 * it is then, and keeps it. Made on a small table (a new queue, a worker started on an empty
 * one), that plan reads the whole table for every claim and ack, and Postgres goes on choosing
 * it as the table grows until the next ANALYZE: measured with bench/micro.mjs, 135 jobs/s
 * against 6,000 once the table had grown to 100,000 rows. A name per size class (one per
 * doubling of the table's pages, up to 8 MB) means a plan is only used on a table at most about
 * twice the size it was made for; larger tables share one name (their plans use the indexes).
 * Planning every statement instead (unnamed, or plan_cache_mode = force_custom_plan) is safe too,
 * but costs 15-35% of the burn-down throughput.
 *
 * Owns one timer; `refresh()` is also called when a large batch was inserted.
 */
export class PlanSizeClass {
  private readonly logger = new Logger('QueuePlanSizeClass');
  private value = 0;
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  /** Warn once per outage, not once a second. */
  private failing = false;

  constructor(
    private readonly pool: Pool,
    /** The jobs table, as a regclass literal: `"schema".jobs`. */
    private readonly table: string,
    private readonly intervalMs = 1000,
  ) {}

  /** The class of a table of `bytes`: 0 up to 2 pages, then one more per doubling, at most TOP_CLASS. */
  static of(bytes: number): number {
    const pages = Math.max(1, Math.floor(bytes / 8192));
    return Math.min(TOP_CLASS, Math.floor(Math.log2(pages)));
  }

  /** `base` suffixed with the current class, to name a prepared statement. */
  name(base: string): string {
    return `${base}_s${this.value}`;
  }

  get current(): number {
    return this.value;
  }

  async start(): Promise<void> {
    await this.refresh();
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.refreshing;
  }

  /** Reads the table's size now (joins a read under way). Never throws: on error the class stays. */
  refresh(): Promise<void> {
    this.refreshing ??= this.read().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async read(): Promise<void> {
    try {
      const r = await this.pool.query<{ bytes: string }>({ text: 'SELECT pg_relation_size($1::regclass) AS bytes', values: [this.table] });
      this.value = PlanSizeClass.of(Number(r.rows[0].bytes));
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn(`could not read the size of ${this.table} (the class stays ${this.value}): ${(err as Error).message}`);
      this.failing = true;
    }
  }
}
