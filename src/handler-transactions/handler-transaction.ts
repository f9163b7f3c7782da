import type { PoolClient } from 'pg';

/**
 * One attempt's transaction, open (BEGIN done) on a connection of its own. Exactly one of
 * `commit`, `rollback` or `destroy` ends it; `destroy` closes the connection, so the server rolls
 * the transaction back and anything the handler still sends on it fails instead of autocommitting.
 */
export interface HandlerTransaction {
  /** The pg client inside BEGIN (for TypeORM, the QueryRunner's own connection). */
  readonly client: PoolClient;
  /** The TypeORM EntityManager bound to this transaction; undefined on the pg source. */
  readonly manager: unknown;
  /** Whether statements may be prepared (named) on this connection. */
  readonly namedStatements: boolean;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  destroy(): void;
}

/** Where attempts' transactions come from: the queue's own pool, or the app's TypeORM DataSource. */
export interface HandlerTransactionSource {
  /** What the errors and the logs call it. */
  readonly label: string;
  open(): Promise<HandlerTransaction>;
  /** Closes what the source created (never the app's DataSource). */
  stop(): Promise<void>;
}

/**
 * Sent right after BEGIN. A worker frozen inside a transaction (SIGSTOP, a VM pause) would keep
 * its locks for as long as its connection lives; past its lease the job runs elsewhere and may need
 * them, and a fence's row lock would keep the rescuer off that job. The server ends such a session
 * once it sat idle in the transaction for twice the lease, rolling it back. (A worker that wakes
 * sooner finds the fence closed: the timeout bounds the locks, the fence decides the outcome.)
 */
export function idleInTransactionSql(leaseMs: number): string {
  return `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1, Math.floor(2 * leaseMs))}`;
}
