import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

export const databaseUrl = (): string => inject('databaseUrl');

/** A fresh schema name per test file (or per test), so files run in parallel without sharing rows. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A pool for assertions, outside the module under test. */
export function testPool(max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl(), max });
  pool.on('error', () => undefined);
  return pool;
}

export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
}

/**
 * For a test file that makes several schemas: an assertion pool, `fresh()` for a new schema,
 * and `dispose()` (for afterAll) that drops them all and ends the pool.
 */
export function schemaScope(prefix = 't') {
  const pool = testPool();
  const schemas: string[] = [];
  return {
    pool,
    fresh(): string {
      const schema = uniqueSchema(prefix);
      schemas.push(schema);
      return schema;
    },
    async dispose(): Promise<void> {
      for (const schema of schemas) await dropSchema(pool, schema);
      await pool.end();
    },
  };
}

/**
 * Calls `seen` with the text and values of every statement `pool.query` sends, whether given as
 * (text, values) or as a QueryConfig, for tests that count a statement.
 */
export function observeQueries(pool: pg.Pool, seen: (text: string, values: unknown[] | undefined) => void): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const [first, second] = args as [unknown, unknown];
    if (typeof first === 'string') seen(first, Array.isArray(second) ? second : undefined);
    else if (first && typeof (first as { text?: unknown }).text === 'string') {
      const q = first as { text: string; values?: unknown[] };
      seen(q.text, Array.isArray(q.values) ? q.values : undefined);
    }
    return query(...args);
  };
}

/** A pool that records the names of the prepared statements sent through it: a pass-through wrapper, not a mock. */
export function recordingPool(max = 4): { pool: pg.Pool; names: string[] } {
  const pool = new pg.Pool({ connectionString: databaseUrl(), max });
  const names: string[] = [];
  const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
  (pool as unknown as { query: (...a: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const q = args[0] as { name?: string } | undefined;
    if (q && typeof q === 'object' && q.name) names.push(q.name);
    return query(...args);
  };
  return { pool, names };
}
