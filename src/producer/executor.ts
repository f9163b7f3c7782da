import type { Pool, QueryConfig } from 'pg';
import { InvalidJobError } from '../errors.js';
import type { TransactionOptions } from '../job.interfaces.js';
import type { PushLimiter } from './push-limiter.js';

export interface QueryResultLike<R> {
  rows: R[];
  rowCount: number;
}

/**
 * One way to run a statement, whichever connection the caller handed us: the queue's pool
 * (autocommit) or the caller's transaction (queryRunner | manager | client).
 */
export interface Executor {
  /** True when the statement runs inside the caller's transaction. */
  readonly inCallerTransaction: boolean;
  query<R = any>(q: QueryConfig): Promise<QueryResultLike<R>>;
}

/** Whether `tx` names a caller's transaction (the test `executorFor` branches on). */
export function inCallerTransaction(tx: TransactionOptions | undefined): boolean {
  return Boolean(tx?.queryRunner || tx?.manager || tx?.client);
}

/** `limiter` caps the pool connections held by statements run on the pool (not in a caller's transaction). */
export function executorFor(pool: Pool, tx: TransactionOptions | undefined, limiter?: PushLimiter): Executor {
  if (tx?.queryRunner) return typeOrmExecutor(tx.queryRunner);
  if (tx?.manager) return typeOrmExecutor(tx.manager.queryRunner!);
  if (tx?.client) {
    const client = tx.client;
    return {
      inCallerTransaction: true,
      async query(q) {
        const r = await client.query(q);
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      },
    };
  }
  return {
    inCallerTransaction: false,
    async query(q) {
      const r = limiter ? await limiter.run(() => pool.query(q)) : await pool.query(q);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    },
  };
}

function typeOrmExecutor(qr: NonNullable<TransactionOptions['queryRunner']>): Executor {
  return {
    inCallerTransaction: true,
    async query(q) {
      // Structured result: TypeORM otherwise returns [rows, count] for UPDATE/DELETE.
      const r = await qr.query(q.text, q.values as unknown[], true);
      return { rows: r.records ?? [], rowCount: r.affected ?? r.records?.length ?? 0 };
    },
  };
}

const SAVEPOINT = 'nestjs_pg_queue_push';

/**
 * Runs `fn` inside a savepoint of the caller's transaction, so that a failed insert (say an
 * idempotency conflict) rolls back only our statement and leaves the caller's transaction usable.
 * Outside a caller transaction the single statement is atomic on its own and no savepoint is used.
 */
export async function withSavepoint<T>(exec: Executor, fn: () => Promise<T>, field = 'options'): Promise<T> {
  if (!exec.inCallerTransaction) return fn();
  try {
    await exec.query({ text: `SAVEPOINT ${SAVEPOINT}` });
  } catch (err) {
    if ((err as { code?: string }).code === '25P01') {
      throw new InvalidJobError(`${field}.client`, 'is not inside a transaction: run BEGIN on it first, or push without it');
    }
    throw err;
  }
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await exec.query({ text: `ROLLBACK TO SAVEPOINT ${SAVEPOINT}` });
    await exec.query({ text: `RELEASE SAVEPOINT ${SAVEPOINT}` });
    throw err;
  }
  await exec.query({ text: `RELEASE SAVEPOINT ${SAVEPOINT}` });
  return result;
}
