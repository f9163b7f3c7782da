import { InvalidQueueOptionsError } from '../errors.js';
import type { TransactionOptions } from '../job.interfaces.js';
import { inCallerTransaction } from './executor.js';

/**
 * Where a push finds the caller's transaction when it names none: the transaction of the code
 * that called it (`@Transactional()` of @nestjs-cls/transactional, through `clsTransactions()`
 * from 'nestjs-pg-queue/transactional'). The core knows only this port, so an app without
 * nestjs-cls loads none of it.
 */
export interface AmbientTransactions {
  readonly kind: 'nestjs-pg-queue.ambient-transactions';
  /** The active transaction as push options, or undefined outside one (the push then autocommits). */
  current(): TransactionOptions | undefined;
}

export function isAmbientTransactions(value: unknown): value is AmbientTransactions {
  const v = value as Partial<AmbientTransactions> | null;
  return typeof v === 'object' && v !== null && v.kind === 'nestjs-pg-queue.ambient-transactions' && typeof v.current === 'function';
}

/** The `ambientTransactions` module option, checked; absent means pushes join only the transactions they are given. */
export function resolveAmbientTransactions(value: unknown): AmbientTransactions | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isAmbientTransactions(value)) {
    throw new InvalidQueueOptionsError(
      'ambientTransactions',
      "must be clsTransactions() from 'nestjs-pg-queue/transactional' (an object with kind and current())",
    );
  }
  return value;
}

/**
 * The transaction a push runs in: the one it was given (explicit always wins), else the ambient
 * one. `given` is returned as is when it names a transaction, so its other fields stay.
 */
export function withAmbient<O extends TransactionOptions>(given: O | undefined, ambient: AmbientTransactions | undefined): O | undefined {
  if (!ambient || inCallerTransaction(given)) return given;
  const tx = ambient.current();
  if (!tx) return given;
  return { ...(given ?? ({} as O)), ...tx };
}
