import pg from 'pg';
import type { HandlerTransaction, HandlerTransactionSource } from './handler-transaction.js';
import { idleInTransactionSql } from './handler-transaction.js';

/**
 * Attempts' transactions on a pool of their own, sized to the transactional slots: a handler
 * holds its connection for as long as it runs, and on the queue's pool it would starve the acks,
 * claims and heartbeats that keep its lease.
 */
export class PgHandlerTransactions implements HandlerTransactionSource {
  readonly label = 'the queue\'s connection settings';
  private readonly pool: pg.Pool;

  constructor(
    connection: pg.PoolConfig,
    max: number,
    private readonly leaseMs: number,
    private readonly namedStatements: boolean,
  ) {
    this.pool = new pg.Pool({ allowExitOnIdle: true, ...connection, max });
    // An idle client's error (a server restart) must not crash the process; the pool drops it.
    this.pool.on('error', () => undefined);
  }

  async open(): Promise<HandlerTransaction> {
    const client = await this.pool.connect();
    // A checked-out client's connection can end between statements (the idle-in-transaction
    // timeout of a frozen worker, a server restart): without a listener that 'error' would crash
    // the process. The statements the attempt sends next fail, and it ends as a failed one.
    let broken: Error | undefined;
    const onError = (err: Error) => (broken ??= err);
    client.on('error', onError);
    let ended = false;
    const end = (err?: Error) => {
      if (ended) return;
      ended = true;
      client.removeListener('error', onError);
      client.release(err ?? broken);
    };
    try {
      await client.query(`BEGIN; ${idleInTransactionSql(this.leaseMs)}`);
    } catch (err) {
      end(err as Error);
      throw err;
    }
    /** Sends the statement that ends the transaction; the client goes back (closed if that failed). */
    const endWith = async (statement: 'COMMIT' | 'ROLLBACK') => {
      try {
        await client.query(statement);
        end();
      } catch (err) {
        end(err as Error);
        throw err;
      }
    };
    return {
      client,
      manager: undefined,
      namedStatements: this.namedStatements,
      commit: () => endWith('COMMIT'),
      rollback: () => endWith('ROLLBACK'),
      destroy: () => end(new Error('the attempt ended while its transaction was open')),
    };
  }

  async stop(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
