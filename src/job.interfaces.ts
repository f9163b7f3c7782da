import type { Client, PoolClient } from 'pg';
import type { JobSnooze } from './job-snooze.js';
import type { JobDefinition } from './typing/job-definition.js';

/**
 * `retrying`: an attempt failed and the job waits for its next one (in version 0.1 this was
 * `failed`, which users of other queues read as final). `killed`: the last attempt failed, or the
 * handler threw UnrecoverableError; nothing will run it again. `cancelled`: an operator cancelled it.
 */
export type JobStatus = 'pending' | 'running' | 'done' | 'retrying' | 'killed' | 'cancelled';

/** One failed attempt, as `JobRecord.errors` keeps it. */
export interface JobAttemptError {
  attempt: number;
  at: Date;
  /** The error's stack (or description), cut to 8 kB. */
  error: string;
}

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
  /**
   * Aborted on shutdown (after the grace period), when `timeoutMs` is exceeded, and when an
   * operator cancels the job (reason: JobCancelledError).
   */
  readonly signal: AbortSignal;
  /**
   * `return job.snooze(ms)` (or throw it): run again in `ms` without counting this attempt.
   * @throws InvalidJobError for a negative, non-finite or over-a-century `ms`.
   */
  snooze(ms: number): JobSnooze;
  /**
   * Stores a JSON progress value on the job (readable with `getJob`), at most 4 writes a second:
   * a value reported sooner waits, replaced by any later one; the last is written with the
   * attempt's outcome. @throws InvalidJobError for a value JSON cannot store exactly (as for data).
   */
  progress(value: unknown): void;
}

/**
 * The job a `@Process(name, { transaction: true })` handler receives: its writes through `client`
 * or `manager` commit together with the job's completion, or not at all. `Manager` is the app's
 * TypeORM `EntityManager` type (available with the module's `dataSource` option).
 */
export interface TransactionalJob<T = unknown, Manager = TypeOrmEntityManagerLike> extends Job<T> {
  /** A pg client inside the attempt's transaction (with `dataSource`, the QueryRunner's connection). */
  readonly client: PoolClient;
  /** @throws NoEntityManagerError when the module has no `dataSource`. */
  readonly manager: Manager;
}

/** A stored job, as `QueueAdmin.getJob` returns it: every column. */
export interface JobRecord<T = unknown> {
  id: string;
  queue: string;
  name: string;
  data: T;
  status: JobStatus;
  attempts: number;
  /**
   * The attempts the job is allowed: the push's `maxAttempts`, else the value the worker resolved
   * (handler, queue, module) once an attempt ended; `null` only for a job pushed without it that
   * has not finished an attempt yet (the worker that runs it decides).
   */
  maxAttempts: number | null;
  priority: number;
  runAt: Date;
  createdAt: Date;
  lockedAt: Date | null;
  lockedBy: string | null;
  doneAt: Date | null;
  /** The error of the latest attempt, in full; `null` when it succeeded (or none has ended). */
  lastError: string | null;
  /** Every failed attempt, oldest first (the latest 20): kept after a success. */
  errors: JobAttemptError[];
  /** The last value the handler gave `job.progress()`, or null. */
  progress: unknown;
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
  /** The job's name, or a `defineJob()` definition (its schema then checks `data`). */
  name: string | JobDefinition<any, any>;
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
