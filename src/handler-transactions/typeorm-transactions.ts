import type { PoolClient } from 'pg';
import type { HandlerTransaction, HandlerTransactionSource } from './handler-transaction.js';
import { idleInTransactionSql } from './handler-transaction.js';

/** What the queue needs of a TypeORM DataSource (no import of TypeORM: it stays the app's choice). */
export interface TypeOrmDataSourceLike {
  readonly isInitialized?: boolean;
  readonly options?: { readonly type?: string };
  createQueryRunner(): TypeOrmHandlerRunner;
}

interface TypeOrmHandlerRunner {
  readonly manager: unknown;
  connect(): Promise<unknown>;
  startTransaction(): Promise<void>;
  commitTransaction(): Promise<void>;
  rollbackTransaction(): Promise<void>;
  release(): Promise<void>;
  /** PostgresQueryRunner's: releases with an error, so pg-pool closes the connection. */
  releasePostgresConnection?(err?: Error): Promise<void>;
}

export function isTypeOrmDataSource(value: unknown): value is TypeOrmDataSourceLike {
  return typeof value === 'object' && value !== null && typeof (value as TypeOrmDataSourceLike).createQueryRunner === 'function';
}

/**
 * Attempts' transactions on the app's TypeORM DataSource: `job.manager` is its QueryRunner's
 * manager, and the fence runs on that QueryRunner's own pg connection, inside the same transaction.
 * The DataSource's pool (its `extra.max`) must leave room for the transactional slots.
 */
export class TypeOrmHandlerTransactions implements HandlerTransactionSource {
  readonly label = 'the dataSource option (TypeORM)';

  constructor(
    private readonly dataSource: TypeOrmDataSourceLike,
    private readonly leaseMs: number,
  ) {}

  async open(): Promise<HandlerTransaction> {
    const runner = this.dataSource.createQueryRunner();
    let client: PoolClient;
    try {
      client = (await runner.connect()) as PoolClient;
      await runner.startTransaction();
      await client.query(idleInTransactionSql(this.leaseMs));
    } catch (err) {
      await closeRunner(runner, err as Error);
      throw err;
    }
    let ended = false;
    const finish = async (how: () => Promise<void>) => {
      if (ended) return;
      ended = true;
      try {
        await how();
      } catch (err) {
        await closeRunner(runner, err as Error);
        throw err;
      }
      await runner.release();
    };
    return {
      client,
      manager: runner.manager,
      // The app's DataSource may sit behind a pooler that refuses prepared statements.
      namedStatements: false,
      commit: () => finish(() => runner.commitTransaction()),
      rollback: () => finish(() => runner.rollbackTransaction()),
      destroy: () => {
        if (ended) return;
        ended = true;
        void closeRunner(runner, new Error('the attempt ended while its transaction was open'));
      },
    };
  }

  async stop(): Promise<void> {
    // The DataSource is the app's: it closes it.
  }
}

/** Releases the runner closing its connection (the server rolls back whatever was open). */
async function closeRunner(runner: TypeOrmHandlerRunner, err: Error): Promise<void> {
  try {
    if (runner.releasePostgresConnection) await runner.releasePostgresConnection(err);
    else await runner.release();
  } catch {
    // Released already: nothing is left open.
  }
}
