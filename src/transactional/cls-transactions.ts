import { TransactionHost } from '@nestjs-cls/transactional';
import { InvalidJobError, InvalidQueueOptionsError } from '../errors.js';
import type { PgClientLike, TransactionOptions, TypeOrmEntityManagerLike } from '../job.interfaces.js';
import type { AmbientTransactions } from '../producer/ambient-transaction.js';

export interface ClsTransactionsOptions {
  /** The `connectionName` given to ClsPluginTransactional, for an app with more than one. Default: the unnamed one. */
  connectionName?: string;
}

/**
 * The `ambientTransactions` module option for @nestjs-cls/transactional: a push with no
 * `queryRunner | manager | client` made inside `@Transactional()` (or `txHost.withTransaction`)
 * joins that transaction. Works with the TypeORM adapter (the transaction is an EntityManager) and
 * any adapter whose transaction is a `pg` client.
 */
export function clsTransactions(options: ClsTransactionsOptions = {}): AmbientTransactions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidQueueOptionsError('ambientTransactions', 'clsTransactions() takes { connectionName? }');
  }
  const { connectionName } = options;
  if (connectionName !== undefined && (typeof connectionName !== 'string' || connectionName.length === 0)) {
    throw new InvalidQueueOptionsError('ambientTransactions.connectionName', 'must be a non-empty string');
  }
  // Found at the first push: ClsPluginTransactional creates its host while the app is built.
  let host: TransactionHost<unknown> | undefined;
  return {
    kind: 'nestjs-pg-queue.ambient-transactions',
    current() {
      host ??= hostFor(connectionName);
      if (!host.isTransactionActive()) return undefined;
      return asTransactionOptions(host.tx, connectionName);
    },
  };
}

function hostFor(connectionName: string | undefined): TransactionHost<unknown> {
  try {
    return TransactionHost.getInstance(connectionName);
  } catch (err) {
    const named = connectionName === undefined ? 'the default connection' : `connectionName "${connectionName}"`;
    throw new InvalidQueueOptionsError(
      'ambientTransactions',
      `found no TransactionHost for ${named}: register ClsModule.forRoot({ plugins: [new ClsPluginTransactional({ ... })] }) in the app (${(err as Error).message})`,
    );
  }
}

/** The adapter's transaction object as the push option that writes through it. */
function asTransactionOptions(tx: unknown, connectionName: string | undefined): TransactionOptions {
  const t = tx as { queryRunner?: unknown; query?: unknown; '@instanceof'?: unknown } | null;
  if (t && typeof t === 'object' && t['@instanceof'] === Symbol.for('EntityManager')) {
    if (t.queryRunner) return { manager: t as TypeOrmEntityManagerLike };
  } else if (t && typeof t === 'object' && typeof t.query === 'function') {
    return { client: t as PgClientLike };
  }
  const what = t && typeof t === 'object' ? (t.constructor?.name ?? 'object') : typeof t;
  throw new InvalidJobError(
    'options',
    `is inside a @nestjs-cls/transactional transaction${connectionName ? ` ("${connectionName}")` : ''} whose transaction object (${what}) the queue cannot write through: ` +
      'it joins a TypeORM EntityManager or a pg client; pass { queryRunner | manager | client } explicitly',
  );
}
