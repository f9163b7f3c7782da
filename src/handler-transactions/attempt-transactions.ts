import type { Ack } from '../consumer/acker.js';
import { ackParams } from '../consumer/acker.js';
import { completeJobsSql } from '../db/sql/complete-jobs.js';
import { InvalidQueueOptionsError, TransactionCommitError } from '../errors.js';
import type { HandlerTransaction, HandlerTransactionSource } from './handler-transaction.js';

/**
 * The transactions of `{ transaction: true }` handlers: each attempt runs in one, and a
 * successful outcome is acked inside it by the same fenced statement the Acker uses, so the
 * handler's writes commit exactly when the job's completion does. A worker that lost its lease
 * (frozen, rescued, re-claimed elsewhere) finds the fence closed and rolls back: the job's
 * database effects happen once even when its handler runs twice.
 * The job's row is locked only by that last statement, not at BEGIN: a rescuer or an operator
 * verb waits on it for the length of one commit at most.
 */
export class AttemptTransactions {
  private readonly sql: string;

  constructor(
    private readonly source: HandlerTransactionSource,
    private readonly schemaSql: string,
    /** The ack statement's prepared name on connections that allow it. */
    private readonly statementName: () => string | undefined,
    /** Tells the rest of the process about an ack written here (as the Acker does with its own). */
    private readonly written: (acks: Ack[], landed: Set<string>) => void,
  ) {
    this.sql = completeJobsSql(schemaSql);
  }

  open(): Promise<HandlerTransaction> {
    return this.source.open();
  }

  /** At bootstrap: the source reaches the queue's tables (a DataSource on another database would not). */
  async verify(): Promise<void> {
    let tx: HandlerTransaction;
    try {
      tx = await this.source.open();
    } catch (err) {
      throw new InvalidQueueOptionsError('dataSource', `could not open a transaction through ${this.source.label}: ${(err as Error).message}`);
    }
    try {
      await tx.client.query(`SELECT 1 FROM ${this.schemaSql}.jobs LIMIT 0`);
    } catch (err) {
      tx.destroy();
      throw new InvalidQueueOptionsError('dataSource', `does not reach the queue's table ${this.schemaSql}.jobs (${(err as Error).message}): it must connect to the queue's database`);
    }
    await tx.rollback();
  }

  /**
   * Ends an attempt whose handler returned. `done` and `snoozed`: the fenced ack runs in the
   * transaction, which commits if the fence let it through and rolls back if not. Anything else:
   * rolls back, and the failure is left to the Acker (recorded outside the rolled-back work).
   * Resolves with the ack still to be written by the Acker, or null when settled here. A commit
   * that fails becomes a failed attempt (`failed`); if the connection broke after the server
   * committed, that failure ack meets a closed fence and changes nothing.
   */
  async end(tx: HandlerTransaction, ack: Ack, failed: (error: unknown) => Ack): Promise<Ack | null> {
    if (ack.status !== 'done' && ack.status !== 'snoozed') {
      await tx.rollback().catch(() => tx.destroy());
      return ack;
    }
    let landed: boolean;
    try {
      const name = tx.namedStatements ? this.statementName() : undefined;
      const r = await tx.client.query<{ id: string }>({ name, text: this.sql, values: ackParams([ack]) });
      landed = r.rows.length === 1;
      if (landed) await tx.commit();
      else await tx.rollback();
    } catch (err) {
      tx.destroy();
      return failed(new TransactionCommitError(ack.id, err));
    }
    this.written([ack], landed ? new Set([ack.id]) : new Set());
    return null;
  }

  stop(): Promise<void> {
    return this.source.stop();
  }
}
