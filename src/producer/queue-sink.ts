import type { Pool } from 'pg';
import { causeText, failedBeforeSending, isUnavailable } from '../db/connection-errors.js';
import { DatabaseUnavailableError, DuplicateJobIdError, IdempotencyConflictError, InvalidJobError, type DatabaseTarget } from '../errors.js';
import type { OutageSignal } from '../outage/outage-reporter.js';
import type { JobToPush, PushOptions, TransactionOptions } from '../job.interfaces.js';
import { statementNames } from '../db/identifier.js';
import { explainStatementError } from '../db/prepared-statements.js';
import { existingKeysSql, insertJobsParams, insertJobsSql, insertOneJobSql } from '../db/sql/insert-jobs.js';
import type { LocalWorkers } from '../direct-start/local-workers.js';
import { DirectPush } from './direct-push.js';
import { PushGroups } from './push-groups.js';
import { executorFor, inCallerTransaction, withSavepoint, type Executor } from './executor.js';
import type { PushLimiter } from './push-limiter.js';
import { withAmbient, type AmbientTransactions } from './ambient-transaction.js';
import { nextJobId } from './job-id.js';
import type { ValidatedJob } from '../encoding/validated-job.js';
import { validateJob, validateJobs, validateTransaction, validateTxArgument } from './job.validation.js';
import type { PushScope, QueueTelemetry } from '../telemetry/telemetry-port.js';
import { isJobDefinition, type JobDefinition, type JobInput } from '../typing/job-definition.js';
import type { JobSchemas } from '../typing/job-schemas.js';
import { checkAtPush } from '../typing/payload-check.js';

export interface QueueSinkContext {
  pool: Pool;
  /** The quoted schema name. */
  schemaSql: string;
  schema: string;
  maxPayloadBytes: number;
  /** False: every statement is sent unnamed (see the `preparedStatements` module option). */
  preparedStatements: boolean;
  /** This process's running workers, for direct starts (absent: never start directly). */
  localWorkers?: LocalWorkers;
  /**
   * Pushes may hand a due job to a ready worker of any process (see insertHandedJobSql), fenced
   * on its heartbeat being at most `leaseMs` old; the job travels on `channel`. Absent: `directStart: false`.
   */
  handOff?: { leaseMs: number; channel: string };
  /** Caps the pool connections pushes hold at once (see PushLimiter). */
  limiter?: PushLimiter;
  /** Where an unreachable database is reported, and where it is (for DatabaseUnavailableError). */
  outage?: OutageSignal;
  target?: DatabaseTarget;
  /** The module's `telemetry` adapter: told of each push (a span, the trace context in `metadata`). */
  telemetry?: QueueTelemetry;
  /** This process's handler schemas: an untyped push of a name handled here is checked too. */
  schemas?: JobSchemas;
  /** The `ambientTransactions` option: the transaction a push joins when it names none. */
  ambient?: AmbientTransactions;
}

/**
 * Enqueues jobs into one queue, alone or inside the caller's transaction. Every input is
 * validated before anything is sent to the database; a batch is one INSERT statement.
 */
export class QueueSink {
  private readonly insertText: string;
  /** For one job sent unnamed: in a caller's transaction, or with preparedStatements off (see insertOneJobSql). */
  private readonly insertOneText: string;
  private readonly insertName: string | undefined;
  /** Due pushes outside a transaction: started by this process's worker, or handed to another's. */
  private readonly direct: DirectPush;
  /** Pushes on the pool: concurrent ones share a statement and a commit (see PushGroups). */
  private readonly groups: PushGroups;

  constructor(
    /** The queue this sink writes to. */
    readonly queue: string,
    private readonly ctx: QueueSinkContext,
  ) {
    this.insertText = insertJobsSql(ctx.schemaSql);
    this.insertOneText = insertOneJobSql(ctx.schemaSql);
    const names = statementNames(ctx.schema);
    this.insertName = ctx.preparedStatements ? names.insert : undefined;
    this.direct = new DirectPush(queue, ctx, {
      pending: async (job) => (await this.insert([job], undefined, 'options'))[0],
      translate: (err, job, id, exec) => this.translateInsertError(err, [job], [id], exec),
    });
    const poolExec = executorFor(ctx.pool, undefined, ctx.limiter);
    this.groups = new PushGroups({
      write: async (jobs, ids) => {
        await poolExec.query(this.insertStatement(jobs, ids, this.insertName));
      },
      unreachable: isUnavailable,
    });
  }

  /**
   * Enqueues one job and resolves to its id (the preassigned `options.id` when given).
   * @throws InvalidJobError before anything is written; IdempotencyConflictError; DuplicateJobIdError.
   */
  async push<D extends JobDefinition<any, any>>(job: D, data: JobInput<D>, options?: PushOptions): Promise<string>;
  async push<T = unknown>(name: string, data: T, options?: PushOptions): Promise<string>;
  async push(nameOrJob: string | JobDefinition, data: unknown, given?: PushOptions): Promise<string> {
    validateTransaction(given);
    const options = withAmbient(given, this.ctx.ambient);
    const def = isJobDefinition(nameOrJob) ? nameOrJob : null;
    const job = validateJob(def ? def.name : nameOrJob, data, options, this.ctx.maxPayloadBytes);
    const schema = def ? def.schema : this.ctx.schemas?.get(this.queue, job.name);
    if (schema) await checkAtPush(schema, data, 'data');
    const inTransaction = inCallerTransaction(options);
    const scope = this.ctx.telemetry?.pushing({ queue: this.queue, names: [job.name], inTransaction });
    if (!scope) return this.pushOne(job, options, inTransaction);
    const traced = { ...job, metadata: scope.metadata(job.metadata) };
    return (await inScope(scope, async () => [await this.pushOne(traced, options, inTransaction)]))[0];
  }

  private async pushOne(job: ValidatedJob, options: PushOptions | undefined, inTransaction: boolean): Promise<string> {
    if (!inTransaction && job.runAt === null && !(job.delayMs! > 0)) {
      const direct = this.direct.push(job);
      if (direct) return direct;
    }
    const [id] = await this.insert([job], options, 'options');
    return id;
  }

  /**
   * Enqueues many jobs in one statement, all or nothing; resolves to their ids in input order.
   * `tx` is the caller's transaction, as `{ queryRunner }`, `{ manager }` or `{ client }`.
   */
  async pushMany(jobs: JobToPush[], given?: TransactionOptions): Promise<string[]> {
    validateTxArgument(given);
    const tx = withAmbient(given, this.ctx.ambient);
    const named = Array.isArray(jobs) && jobs.some((j) => isJobDefinition((j as { name?: unknown } | null)?.name));
    const plain = named ? jobs.map((j) => (isJobDefinition(j?.name) ? { ...j, name: j.name.name } : j)) : jobs;
    const validated = validateJobs(plain, this.ctx.maxPayloadBytes);
    if (validated.length === 0) return [];
    for (let i = 0; i < jobs.length; i++) {
      const given = jobs[i].name as string | JobDefinition;
      const schema = isJobDefinition(given) ? given.schema : this.ctx.schemas?.get(this.queue, validated[i].name);
      if (schema) await checkAtPush(schema, jobs[i].data, `jobs[${i}].data`);
    }
    const inTransaction = inCallerTransaction(tx);
    const scope = this.ctx.telemetry?.pushing({ queue: this.queue, names: validated.map((j) => j.name), inTransaction });
    if (!scope) return this.insert(validated, tx, 'tx');
    const traced = validated.map((j) => ({ ...j, metadata: scope.metadata(j.metadata) }));
    return inScope(scope, () => this.insert(traced, tx, 'tx'));
  }

  /** `txField` names the transaction argument in errors: "options" for push, "tx" for pushMany. */
  private async insert(jobs: ValidatedJob[], tx: TransactionOptions | undefined, txField: string): Promise<string[]> {
    checkBatchUniqueness(this.queue, jobs);
    const ids = jobs.map((j) => j.id ?? nextJobId());
    const exec = executorFor(this.ctx.pool, tx, this.ctx.limiter);
    const began = Date.now();
    try {
      if (!exec.inCallerTransaction) {
        await this.groups.write(jobs, ids);
      } else {
        // Unnamed in a caller's transaction: its connection may not expect prepared statements.
        await withSavepoint(exec, () => exec.query(this.insertStatement(jobs, ids, undefined)), txField);
      }
    } catch (err) {
      throw await this.translateInsertError(err, jobs, ids, exec);
    }
    this.ctx.outage?.succeeded('pushes', began);
    return ids;
  }

  /** The INSERT of `jobs` under `ids`; unnamed, it is planned on every run, where the one-row form plans faster. */
  private insertStatement(jobs: ValidatedJob[], ids: string[], name: string | undefined): { name?: string; text: string; values: unknown[] } {
    return { name, text: name === undefined && jobs.length === 1 ? this.insertOneText : this.insertText, values: insertJobsParams(this.queue, ids, jobs) };
  }

  /**
   * The database could not be reached: a {@link DatabaseUnavailableError} that says whether the
   * jobs may have been stored (a connection that broke after the INSERT was sent) and how to push
   * again safely. Reported once per outage, not once per push.
   */
  private unavailable(err: unknown, ids: string[], inCallerTransaction: boolean): DatabaseUnavailableError {
    const detail = inCallerTransaction
      ? 'nothing was written (the push was part of your transaction, which did not commit)'
      : failedBeforeSending(err)
        ? 'nothing was written'
        : 'the insert may have committed before the connection broke: push again with options.id set to err.jobIds[i] ' +
          '(DuplicateJobIdError then means it was stored) or with an idempotencyKey';
    const cause = causeText(err);
    this.ctx.outage?.failed('pushes', err, `pushes to queue "${this.queue}": database unavailable (${cause}); they reject with DatabaseUnavailableError until it is back`);
    const target = this.ctx.target ?? { host: '?', port: 0, database: '?', user: '?' };
    return new DatabaseUnavailableError(target, this.ctx.schema, `${cause}; ${detail}`, { cause: err, jobIds: ids });
  }

  /** A unique violation as the typed error it means; a lost prepared statement as the error naming the fix. */
  private async translateInsertError(err: unknown, jobs: ValidatedJob[], ids: string[], exec: Executor): Promise<unknown> {
    const e = err as { code?: string; constraint?: string };
    if (isUnavailable(err)) return this.unavailable(err, ids, exec.inCallerTransaction);
    if (e.code !== '23505') return explainStatementError(err);
    if (e.constraint === 'jobs_pkey') {
      const id = jobs.length === 1 ? ids[0] : (/\(id\)=\((.*)\)/.exec((err as { detail?: string }).detail ?? '')?.[1] ?? ids[0]);
      return new DuplicateJobIdError(id, { cause: err });
    }
    const keys = jobs.map((j) => j.idempotencyKey).filter((k): k is string => k !== null);
    let key = keys[0];
    if (keys.length > 1) {
      // The caller's transaction is usable again (the savepoint was rolled back), so we may ask.
      const r = await exec.query<{ idempotency_key: string }>({ text: existingKeysSql(this.ctx.schemaSql), values: [this.queue, keys] });
      key = r.rows[0]?.idempotency_key ?? key;
    }
    return new IdempotencyConflictError(this.queue, key ?? '', { cause: err });
  }
}

/** Runs a push in its telemetry scope and tells the scope how it ended. */
async function inScope(scope: PushScope, insert: () => Promise<string[]>): Promise<string[]> {
  let ids: string[];
  try {
    ids = await scope.run(insert);
  } catch (err) {
    scope.end(null, err);
    throw err;
  }
  scope.end(ids);
  return ids;
}

/** Two jobs of one batch with the same key or id would fail the whole insert; say which, before writing. */
function checkBatchUniqueness(queue: string, jobs: ValidatedJob[]): void {
  if (jobs.length < 2) return;
  const keys = new Set<string>();
  const ids = new Set<string>();
  for (const j of jobs) {
    if (j.idempotencyKey !== null) {
      if (keys.has(j.idempotencyKey)) throw new IdempotencyConflictError(queue, j.idempotencyKey);
      keys.add(j.idempotencyKey);
    }
    if (j.id !== null) {
      if (ids.has(j.id)) throw new DuplicateJobIdError(j.id);
      ids.add(j.id);
    }
  }
}
