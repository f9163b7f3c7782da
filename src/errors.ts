import type { PayloadIssue } from './typing/payload-check.js';
/**
 * Every error this package throws on purpose extends {@link QueueError} and carries a stable
 * `code`, so callers can branch on `err.code` without parsing messages.
 */
export class QueueError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input to `push` / `pushMany`: nothing was written. `field` names the offending input. */
export class InvalidJobError extends QueueError {
  constructor(
    readonly field: string,
    readonly reason: string,
    /** The payload schema's findings, each with its path ("data.email"), when a schema refused it. */
    readonly issues?: readonly PayloadIssue[],
  ) {
    super('INVALID_JOB', `Invalid job: ${field} ${reason}`);
  }
}

/** A job with the same idempotency key already exists in the queue. Nothing was written. */
export class IdempotencyConflictError extends QueueError {
  constructor(
    readonly queue: string,
    readonly idempotencyKey: string,
    options?: { cause?: unknown },
  ) {
    super(
      'IDEMPOTENCY_CONFLICT',
      `A job with idempotency key ${JSON.stringify(idempotencyKey)} already exists in queue "${queue}"`,
      options,
    );
  }
}

/** A preassigned job id is already taken. Nothing was written. */
export class DuplicateJobIdError extends QueueError {
  constructor(
    readonly jobId: string,
    options?: { cause?: unknown },
  ) {
    super('DUPLICATE_JOB_ID', `A job with id ${jobId} already exists`, options);
  }
}

/** A module option is wrong; thrown at bootstrap before any SQL runs. */
export class InvalidQueueOptionsError extends QueueError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super('INVALID_OPTIONS', `QueueModule option "${option}" ${reason}`);
  }
}

/** The database schema is missing or older than this package (with `migrate: false`). */
export class SchemaNotReadyError extends QueueError {
  constructor(message: string) {
    super('SCHEMA_NOT_READY', message);
  }
}

/** A `@Processor` / `@Process` declaration cannot be wired; thrown at bootstrap. */
export class ProcessorDefinitionError extends QueueError {
  constructor(message: string) {
    super('INVALID_PROCESSOR', message);
  }
}

/** The handler ran longer than its `timeoutMs`; recorded as the attempt's error. */
export class JobTimeoutError extends QueueError {
  constructor(readonly timeoutMs: number) {
    super('JOB_TIMEOUT', `Handler exceeded timeoutMs (${timeoutMs} ms); job.signal was aborted`);
  }
}

/** The handler's return value could not be stored as JSON; recorded as the attempt's error. */
export class ResultNotSerializableError extends QueueError {
  constructor(reason: string) {
    super('RESULT_NOT_SERIALIZABLE', `Handler result is not JSON-serialisable: ${reason}`);
  }
}

/**
 * The connection lost a named prepared statement between two statements: it goes through a
 * transaction-mode pooler that does not keep them. Fix: `preparedStatements: false`.
 */
export class PreparedStatementsError extends QueueError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super(
      'PREPARED_STATEMENTS_UNSUPPORTED',
      `The queue's connection does not keep prepared statements (${detail}): it goes through a transaction-mode pooler ` +
        '(PgBouncer, RDS Proxy, Supabase or Neon pooler). Set preparedStatements: false in QueueModule.forRoot(), or connect directly.',
      options,
    );
  }
}

/** The server is older than the oldest Postgres this package supports; thrown at bootstrap. */
export class UnsupportedServerError extends QueueError {
  constructor(
    readonly serverVersion: string,
    readonly minimum: string,
  ) {
    super('UNSUPPORTED_SERVER', `PostgreSQL ${serverVersion} is not supported: nestjs-pg-queue needs PostgreSQL ${minimum} or newer`);
  }
}

/** `@InjectSink(queue)` names a queue that `QueueModule.forRoot({ queues })` does not register. */
export class UnknownQueueError extends QueueError {
  constructor(
    readonly queue: string,
    readonly registered: string[],
  ) {
    super(
      'UNKNOWN_QUEUE',
      `@InjectSink(${JSON.stringify(queue)}): queue "${queue}" is not registered; add it to QueueModule.forRoot({ queues }) ` +
        `(registered: ${registered.map((q) => JSON.stringify(q)).join(', ')})`,
    );
  }
}

/**
 * The queue's database cannot be reached: at bootstrap (after the `bootRetry` attempts) or for a
 * push. Names where it looked (never the password); `cause` is pg's error. A push that rejects
 * with it wrote nothing.
 */
export class DatabaseUnavailableError extends QueueError {
  constructor(
    readonly target: DatabaseTarget,
    readonly schema: string,
    detail: string,
    options?: { cause?: unknown; jobIds?: string[] },
  ) {
    super('DATABASE_UNAVAILABLE', `The queue's database is unavailable (${describeTarget(target)}, schema "${schema}"): ${detail}`, options);
    this.jobIds = options?.jobIds ?? [];
  }

  /** For a push: the ids its jobs were to have, so that a retry can reuse them (`options.id`). */
  readonly jobIds: string[];
}

/** Where a connection goes, without its password. */
export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
  user: string;
}

export function describeTarget(t: DatabaseTarget): string {
  const host = t.host.startsWith('/') ? `socket ${t.host}` : `host ${t.host}`;
  return `${host}, port ${t.port}, database "${t.database}", user "${t.user}"`;
}

/** `delete` of a job whose handler is running: cancel it first (its handler is still at work). */
export class JobRunningError extends QueueError {
  constructor(readonly jobId: string) {
    super('JOB_RUNNING', `Job ${jobId} is running and cannot be deleted: cancel it first (a cancelled job can be deleted)`);
  }
}

/** The reason `job.signal` is aborted with when an operator cancels a running job. */
export class JobCancelledError extends QueueError {
  constructor(readonly jobId: string) {
    super('JOB_CANCELLED', `Job ${jobId} was cancelled`);
  }
}

/**
 * Thrown by a handler for a failure no retry can fix (bad data, a permanently refused request):
 * the job ends `killed` at once with this error, whatever attempts remain.
 */
export class UnrecoverableError extends QueueError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('UNRECOVERABLE', message, options);
  }
}

/**
 * A claimed job's payload does not match its handler's schema (a row written by an older version
 * of the code, or by hand): the attempt fails without calling the handler, and the job is killed
 * at once, since running it again would meet the same payload.
 */
export class JobPayloadError extends UnrecoverableError {
  constructor(
    readonly jobId: string,
    readonly jobName: string,
    readonly issues: readonly PayloadIssue[],
    issuesText: string,
  ) {
    super(`payload of job ${jobId} ("${jobName}") does not match its handler's schema: ${issuesText}; not retried (the same payload would fail again)`);
  }
}

/** `QueueEvents.waitFor` gave up: the job was not finished within `timeoutMs`. */
export class JobWaitTimeoutError extends QueueError {
  constructor(
    readonly jobId: string,
    readonly timeoutMs: number,
  ) {
    super('JOB_WAIT_TIMEOUT', `Job ${jobId} was not finished within ${timeoutMs} ms`);
  }
}

/**
 * The transaction of a `{ transaction: true }` handler could not commit (the handler left it
 * aborted, a constraint checked at commit, the connection broke): its writes rolled back (or, on
 * a broken connection, may have committed with the job's completion, in which case this attempt's
 * failure is not recorded: the fence refuses it). The attempt fails and is retried as usual.
 */
export class TransactionCommitError extends QueueError {
  constructor(
    readonly jobId: string,
    cause: unknown,
  ) {
    super('TRANSACTION_COMMIT', `the transaction of job ${jobId} could not commit: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** `job.manager` in a transactional handler of a module without the `dataSource` option. */
export class NoEntityManagerError extends QueueError {
  constructor(readonly label: string) {
    super(
      'NO_ENTITY_MANAGER',
      `${label}: job.manager needs the module option "dataSource" (a TypeORM DataSource on the queue's database); without it, use job.client (a pg client in the same transaction)`,
    );
  }
}
