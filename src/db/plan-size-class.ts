import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';

/** 2^10 pages = 8 MB: larger tables share one name; their plans follow the statistics (see below). */
const TOP_CLASS = 10;

/** A table smaller than this is not analyzed by us: sorting all its claimable rows costs little. */
const ANALYZE_FROM_BYTES = 1 << 20;

/**
 * The columns the claim, the ack and the rescue filter and sort on: statistics of the JSON
 * columns (payload, metadata, errors) are of no use to those plans and took a third of the
 * ANALYZE's time (200,000 jobs: 86-93 ms against 119-188 ms). Autovacuum still analyzes every column.
 */
const ANALYZED_COLUMNS = 'queue, status, name, priority, run_at, id, locked_by';

/**
 * The table's pages when it was last analyzed or vacuumed (by any process, or by autovacuum), and
 * whether it has statistics at all (a VACUUM alone counts pages but gathers none).
 */
const ANALYZED_SQL = `SELECT c.relpages::float8 * current_setting('block_size')::float8 AS counted_bytes,
  EXISTS (SELECT 1 FROM pg_stats st WHERE st.schemaname = n.nspname AND st.tablename = c.relname AND st.attname = 'run_at') AS has_stats
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::regclass`;

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
 * Statistics: a name per size is not enough when the table has none (a new table, until
 * autovacuum's first ANALYZE, which waits for its naptime and 10% of the rows to change). The
 * planner then multiplies default selectivities (queue, status, name, run_at) into an estimate
 * of about one claimable row, and plans the claim as a bitmap scan of every due job and a sort:
 * under a steady push rate the backlog grew, each claim sorted all of it (a 400,000-row backlog:
 * 1.1 s a claim, sorted on disk; auto_explain beside `bench/run.mjs`'s steady scenario), and the
 * worker fell further behind. So each time the table has doubled since we last looked (from
 * 1 MB), we ANALYZE it (SKIP_LOCKED: an ANALYZE or VACUUM under way is left to finish); new
 * statistics invalidate the cached plans, and the claim is planned as the ordered index scan it
 * is. Only the columns those plans use (ANALYZED_COLUMNS), and not again when another process
 * (or autovacuum) has analyzed the table since it was half its size: with 4 worker processes each
 * analyzed it in turn, 6% of the server's time in the bench's burn-down. A role that does not own
 * the table gets a warning from the server and nothing changes.
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
  /** The table's size when we last analyzed it (or first saw it): the next ANALYZE is at twice that. */
  private analyzedBytes: number | null = null;

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
    let step = 'read the size of';
    try {
      const r = await this.pool.query<{ bytes: string }>({ text: 'SELECT pg_relation_size($1::regclass) AS bytes', values: [this.table] });
      const bytes = Number(r.rows[0].bytes);
      // A table as we find it at start has whatever statistics autovacuum gave it.
      this.analyzedBytes ??= bytes;
      if (bytes >= ANALYZE_FROM_BYTES && bytes >= 2 * this.analyzedBytes) {
        step = 'analyze';
        await this.analyze(bytes);
      }
      this.value = PlanSizeClass.of(bytes);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn(`could not ${step} ${this.table} (the size class stays ${this.value}): ${(err as Error).message}`);
      this.failing = true;
    }
  }

  /** ANALYZEs the table at `bytes`, unless someone did since it was half that. */
  private async analyze(bytes: number): Promise<void> {
    const seen = (await this.pool.query<{ counted_bytes: number; has_stats: boolean }>({ text: ANALYZED_SQL, values: [this.table] })).rows[0];
    if (seen && seen.has_stats && 2 * seen.counted_bytes > bytes) {
      this.analyzedBytes = seen.counted_bytes;
      return;
    }
    this.analyzedBytes = bytes;
    await this.pool.query(`ANALYZE (SKIP_LOCKED) ${this.table} (${ANALYZED_COLUMNS})`);
  }
}
