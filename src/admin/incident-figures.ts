import type { Pool } from 'pg';
import { oldestDueSql, staleRunningSql } from '../db/sql/admin.js';

/**
 * The figures an incident needs, cheap on any table size (see oldestDueSql, staleRunningSql):
 * each queue's lag (ms its oldest due job has waited, database clock; null when none is due) and
 * the running jobs, by queue, whose worker missed two heartbeats. Read by `QueueAdmin.stats()` and
 * the Terminus indicator.
 */
export async function incidentFigures(
  pool: Pool,
  schemaSql: string,
  queues: readonly string[],
  heartbeatIntervalMs: number,
): Promise<{ lagMs: Map<string, number | null>; staleRunning: Map<string, number> }> {
  const [stale, lags] = await Promise.all([
    pool.query<{ queue: string; count: number }>(staleRunningSql(schemaSql), [2 * heartbeatIntervalMs]),
    Promise.all(queues.map(async (q) => (await pool.query<{ lag_ms: number | null }>(oldestDueSql(schemaSql), [q])).rows[0]?.lag_ms ?? null)),
  ]);
  return {
    lagMs: new Map(queues.map((q, i) => [q, lags[i] === null ? null : Math.max(0, lags[i]!)])),
    staleRunning: new Map(stale.rows.map((r) => [r.queue, r.count])),
  };
}
