import type { Pool, PoolConfig } from 'pg';
import type { Ack } from '../consumer/acker.js';
import type { HandlerDefinition } from '../consumer/handler-definition.js';
import type { ResolvedQueueConfig, ResolvedQueueOptions } from '../queue.options.js';
import { AttemptTransactions } from './attempt-transactions.js';
import { PgHandlerTransactions } from './pg-transactions.js';
import { TypeOrmHandlerTransactions } from './typeorm-transactions.js';

/**
 * How many transactional attempts this process can run at once: per queue, its transactional
 * handlers' slots (each one's concurrency, else the queue's), at most the queue's concurrency.
 */
export function transactionalSlots(handlers: Map<string, Map<string, HandlerDefinition>>, queues: Map<string, ResolvedQueueConfig>): number {
  let slots = 0;
  for (const [queue, byName] of handlers) {
    const concurrency = queues.get(queue)!.concurrency;
    let wanted = 0;
    for (const h of byName.values()) if (h.transaction) wanted += h.concurrency ?? concurrency;
    slots += Math.min(wanted, concurrency);
  }
  return slots;
}

/** The process's AttemptTransactions, or null when no handler asked for a transaction. */
export function createAttemptTransactions(
  options: ResolvedQueueOptions,
  handlers: Map<string, Map<string, HandlerDefinition>>,
  pool: Pool,
  schemaSql: string,
  statementName: () => string | undefined,
  written: (acks: Ack[], landed: Set<string>) => void,
): AttemptTransactions | null {
  const slots = transactionalSlots(handlers, options.queues);
  if (slots === 0) return null;
  const source = options.dataSource
    ? new TypeOrmHandlerTransactions(options.dataSource, options.orphanTimeoutMs)
    : new PgHandlerTransactions(
        options.connection ?? (pool as unknown as { options: PoolConfig }).options,
        slots,
        options.orphanTimeoutMs,
        options.preparedStatements,
      );
  return new AttemptTransactions(source, schemaSql, statementName, written);
}
