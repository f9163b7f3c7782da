import type { Client, PoolClient } from 'pg';

export type JobStatus = 'pending' | 'running' | 'done' | 'failed' | 'killed';

/** The job a `@Process` handler receives. */
export interface Job<T = unknown> {
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly data: T;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly priority: number;
  readonly runAt: Date;
  readonly createdAt: Date;
  readonly metadata: Record<string, unknown>;
  readonly idempotencyKey: string | null;
  /** Aborted on shutdown (after the grace period) and when `timeoutMs` is exceeded. */
  readonly signal: AbortSignal;
}

/** A stored job, as `QueueAdmin.getJob` returns it: every column. */
export interface JobRecord<T = unknown> {
  id: string;
  queue: string;
  name: string;
  data: T;
  status: JobStatus;
  attempts: number;
  /** `null` when the job was pushed without `maxAttempts`: the handler's or queue's default applies. */
  maxAttempts: number | null;
  priority: number;
  runAt: Date;
  createdAt: Date;
  lockedAt: Date | null;
  lockedBy: string | null;
  doneAt: Date | null;
  lastError: string | null;
  result: unknown;
  metadata: Record<string, unknown>;
  idempotencyKey: string | null;
}

/**
 * The caller's transaction to enqueue in. Give at most one. The job commits or rolls back with it,
 * and its NOTIFY is delivered only on commit.
 */
export interface TransactionOptions {
  /** A TypeORM `QueryRunner` with an open transaction (`startTransaction()` called). */
  queryRunner?: TypeOrmQueryRunnerLike;
  /** The TypeORM `EntityManager` given to `dataSource.transaction(manager => ...)`. */
  manager?: TypeOrmEntityManagerLike;
  /** A `pg` client inside `BEGIN`. */
  client?: PgClientLike;
}

export interface PushOptions extends TransactionOptions {
  /** A preassigned ULID (canonical upper-case form); echoed back. Default: a new ULID. */
  id?: string;
  /** Not before this time. Exclusive with `delayMs`. */
  runAt?: Date;
  /** Not before now (the database's clock) plus this many milliseconds. Exclusive with `runAt`. */
  delayMs?: number;
  /** Higher runs first. An integer in int4 range. Default 0. */
  priority?: number;
  /** Attempts before the job ends `killed`. Default: the handler's, queue's, then module's. */
  maxAttempts?: number;
  /** At most one job per queue with this key, ever (until the row is deleted). */
  idempotencyKey?: string;
  /** A plain JSON object stored beside the payload. */
  metadata?: Record<string, unknown>;
}

/** One element of `pushMany`. */
export interface JobToPush<T = unknown> {
  name: string;
  data: T;
  options?: Omit<PushOptions, keyof TransactionOptions>;
}

/** Structural types, so that TypeORM stays an optional peer. */
export interface TypeOrmQueryRunnerLike {
  readonly isTransactionActive: boolean;
  readonly isReleased?: boolean;
  query(query: string, parameters?: unknown[], useStructuredResult?: boolean): Promise<any>;
}
export interface TypeOrmEntityManagerLike {
  readonly queryRunner?: TypeOrmQueryRunnerLike;
  query(query: string, parameters?: unknown[]): Promise<any>;
}
export type PgClientLike = Pick<Client | PoolClient, 'query'>;
