import type { Pool } from 'pg';
import { activeCountsSql, statsSql, statusEstimateSql, tableEstimateSql } from '../db/sql/admin.js';

/** Past this many rows (the planner's figure), finished statuses are estimated instead of counted. */
export const EXACT_COUNT_LIMIT = 500_000;
const FINISHED = ['done', 'killed', 'cancelled'] as const;

export interface StatusCountRow {
  queue: string;
  status: string;
  count: number;
}

/**
 * Job counts by queue and status. Exact on a table the planner thinks has at most
 * EXACT_COUNT_LIMIT rows; past that, waiting and running jobs are still counted exactly (through
 * their partial indexes) and the finished statuses, which would need a scan of most of the table,
 * are the planner's estimates (`estimated` lists them): the read stays a few milliseconds on a
 * table of ten million finished jobs.
 */
export async function statusCounts(pool: Pool, schemaSql: string, queues: readonly string[]): Promise<{ rows: StatusCountRow[]; estimated: string[] }> {
  const size = (await pool.query<{ rows: number }>(tableEstimateSql(schemaSql))).rows[0]?.rows ?? 0;
  if (size <= EXACT_COUNT_LIMIT) return { rows: (await pool.query<StatusCountRow>(statsSql(schemaSql))).rows, estimated: [] };
  const [active, ...estimates] = await Promise.all([
    pool.query<StatusCountRow>(activeCountsSql(schemaSql)),
    ...queues.flatMap((queue) =>
      FINISHED.map(async (status) => {
        const plan = (await pool.query(statusEstimateSql(schemaSql), [queue, status])).rows[0]['QUERY PLAN'];
        return { queue, status, count: Math.round(plan[0].Plan['Plan Rows'] ?? 0) };
      }),
    ),
  ]);
  // The planner never estimates zero rows: a one-row guess for a status it has no statistics for means none seen.
  return { rows: [...active.rows, ...estimates.map((e) => (e.count <= 1 ? { ...e, count: 0 } : e))], estimated: [...FINISHED] };
}
