import type { Pool, PoolClient, QueryConfig } from 'pg';
import { PreparedStatementsError } from '../errors.js';
import { poolMax } from './pool-max.js';

/** "prepared statement ... does not exist" / "... already exists": the session under us changed. */
const LOST_STATEMENT_CODES = new Set(['26000', '42P05']);

/**
 * A named statement failed because the server connection under our client changed (a
 * transaction-mode pooler): the error that names the fix instead of the raw protocol error.
 * Any other error is returned as it is.
 */
export function explainStatementError(err: unknown): unknown {
  const code = (err as { code?: string } | null)?.code;
  if (code === undefined || !LOST_STATEMENT_CODES.has(code) || err instanceof PreparedStatementsError) return err;
  return new PreparedStatementsError((err as Error).message, { cause: err });
}

/** The probe gives up (inconclusive) when a statement waits this long for a server connection. */
const PROBE_TIMEOUT_MS = 3000;

/** A client within `ms`, or null; a client that comes later goes straight back to the pool. */
async function connectWithin(pool: Pool, ms: number): Promise<PoolClient | null> {
  let timer: NodeJS.Timeout | undefined;
  const connecting = pool.connect();
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  const client = await Promise.race([connecting, timeout]);
  clearTimeout(timer);
  if (client) return client;
  connecting.then((c) => c.release(), () => undefined);
  return null;
}

/**
 * Makes a transaction-mode pooler that drops prepared statements fail at bootstrap, with the
 * error that names `preparedStatements: false`, instead of in the first claim deep in a worker.
 *
 * Client A prepares a statement; client B opens a transaction, which a transaction pooler
 * serves with the server connection A just gave back (PgBouncer reuses the last one first);
 * A's second run must then go to another server connection, where its statement does not
 * exist. On a direct connection, or a pooler that keeps prepared statements (PgBouncer 1.21+
 * with max_prepared_statements), both runs succeed. Needs two connections; a pool of one skips it.
 */
export async function checkPreparedStatements(pool: Pool): Promise<void> {
  if (poolMax(pool) < 2) return;
  const name = `pgq_probe_${Math.random().toString(36).slice(2, 10)}`;
  // pg honours a per-query query_timeout; its types know it only as a client option.
  const timed = (text: string, statement?: string) => ({ text, name: statement, query_timeout: PROBE_TIMEOUT_MS }) as QueryConfig;
  const probe = timed('SELECT 1 AS probe', name);
  const a = await pool.connect();
  let b: PoolClient | null = null;
  let destroyA = false;
  let destroyB = false;
  try {
    await a.query(probe);
    b = await connectWithin(pool, PROBE_TIMEOUT_MS);
    if (!b) return; // a shared pool whose other connections are all in use: inconclusive
    await b.query(timed('BEGIN'));
    try {
      await a.query(probe);
    } catch (err) {
      const explained = explainStatementError(err);
      if (explained instanceof PreparedStatementsError) throw explained;
      // A timeout (a pooler with a single server connection) or anything else: inconclusive.
      destroyA = true;
    }
  } finally {
    if (b) {
      await b.query('ROLLBACK').catch(() => (destroyB = true));
      b.release(destroyB);
    }
    a.release(destroyA);
  }
}
