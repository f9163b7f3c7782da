import pg from 'pg';
import { ackParams } from '../../dist/consumer/acker.js';

/** The ack arrays (as the worker binds them) for claimed `rows`, all done, claimed by `lockedBy`. */
export function doneAckParams(rows, lockedBy, queue = 'bench') {
  return ackParams(rows.map((r) => ({ id: r.id, queue, attempt: r.attempts, lockedBy, status: 'done', result: null, error: null, retryDelayMs: 0, maxAttempts: 25, progress: null })));
}

/** Inserts n finished ('done') jobs into this project's schema with one INSERT ... SELECT. */
export async function seedFinishedOurs(dbUrl, schema, queue, n) {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    await c.query(`SET session_replication_role = replica`); // no NOTIFY trigger for history rows
    await c.query(
      `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, run_at, created_at, locked_at, locked_by, done_at)
       SELECT '0000' || lpad(g::text, 22, '0'), $1, 'noop', jsonb_build_object('i', g), 'done', 1,
              now() - interval '1 day', now() - interval '1 day', NULL, 'old-worker', now() - interval '1 day'
       FROM generate_series(1, $2::int) g`,
      [queue, n],
    );
    await c.query(`VACUUM ANALYZE ${schema}.jobs`);
  } finally {
    await c.end();
  }
}
