import type { Pool } from 'pg';
import { causeText, failedBeforeSending, isUnavailable } from '../db/connection-errors.js';
import { DatabaseUnavailableError, DuplicateJobIdError, IdempotencyConflictError, InvalidJobError, type DatabaseTarget } from '../errors.js';
import type { OutageSignal } from '../outage/outage-reporter.js';
import type { JobToPush, PushOptions, TransactionOptions } from '../job.interfaces.js';
import { statementNames } from '../db/identifier.js';
import { explainStatementError } from '../db/prepared-statements.js';
import { existingKeysSql, insertJobsParams, insertJobsSql, insertOneJobSql } from '../db/sql/insert-jobs.js';
import { insertStartedJobSql } from '../db/sql/insert-started-job.js';
import { insertHandedJobSql } from '../db/sql/ready-workers.js';
import type { LocalWorkers } from '../direct-start/local-workers.js';
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
  private readonly insertStartedText: string;
  private readonly insertStartedName: string | undefined;
  private readonly insertHandedText: string;
  private readonly insertHandedName: string | undefined;
  /** When a hand-off last found no worker ready (see HAND_OFF_RETRY_MS). */
  private handOffMissedAt = -Infinity;

  constructor(
    /** The queue this sink writes to. */
    readonly queue: string,
    private readonly ctx: QueueSinkContext,
  ) {
    this.insertText = insertJobsSql(ctx.schemaSql);
    this.insertOneText = insertOneJobSql(ctx.schemaSql);
    const names = statementNames(ctx.schema);
    this.insertName = ctx.preparedStatements ? names.insert : undefined;
    this.insertStartedText = insertStartedJobSql(ctx.schemaSql);
    this.insertStartedName = ctx.preparedStatements ? names.insertStarted : undefined;
    this.insertHandedText = insertHandedJobSql(ctx.schemaSql);
    this.insertHandedName = ctx.preparedStatements ? names.insertHanded : undefined;
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
      const started = this.startDirect(job);
      if (started) return started;
      // Not to our own worker: whatever made it decline this job holds for a hand-off too.
      const own = this.ctx.localWorkers?.get(this.queue)?.workerId() ?? null;
      if (this.ctx.handOff && fitsHandOff(this.queue, job) && performance.now() - this.handOffMissedAt >= HAND_OFF_RETRY_MS) {
        return this.insertHanded(job, this.ctx.handOff, own);
      }
    }
    const [id] = await this.insert([job], options, 'options');
    return id;
  }

  /**
   * A due job pushed outside a transaction, while this process's worker for the queue is idle:
   * inserted already claimed by that worker, it starts when the INSERT returns (see
   * Fetcher.startDirect). Null when the worker cannot take it now. If the lease fence stops the
   * insert (our heartbeat is late), the job is pushed the usual way, under the same id.
   */
  private startDirect(job: ValidatedJob): Promise<string> | null {
    const starter = this.ctx.localWorkers?.get(this.queue);
    if (!starter) return null;
    const id = job.id ?? nextJobId();
    const exec = executorFor(this.ctx.pool, undefined, this.ctx.limiter);
    const landed = starter.startDirect(job.name, async (lockedBy, leaseMs) => {
      const r = await exec.query<{ created_at: Date }>({
        name: this.insertStartedName,
        text: this.insertStartedText,
        values: [id, this.queue, job.name, job.payload, job.maxAttempts, job.priority, job.metadata, job.idempotencyKey, lockedBy, leaseMs],
      });
      if (r.rows.length === 0) return null;
      const createdAt = r.rows[0].created_at.getTime();
      // The row as a claim returns it. `payload` and `metadata` are the validated JSON texts,
      // parsed: equal values, though an object's keys keep the pushed order where jsonb's output
      // would sort them.
      return {
        id,
        name: job.name,
        payload: JSON.parse(job.payload),
        attempts: 1,
        max_attempts: job.maxAttempts,
        priority: job.priority,
        run_at: createdAt,
        created_at: createdAt,
        metadata: JSON.parse(job.metadata),
        idempotency_key: job.idempotencyKey,
      };
    });
    if (!landed) return null;
    return landed.then(
      async (row) => (row ? id : (await this.insert([{ ...job, id }], undefined, 'options'))[0]),
      async (err) => {
        throw await this.translateInsertError(err, [job], [id], exec);
      },
    );
  }

  /**
   * A due job pushed outside a transaction that this process's worker could not start: handed to
   * a ready worker of any process if there is one (it starts on the NOTIFY, without a claim), else
   * inserted `pending` as usual. One statement either way.
   */
  private async insertHanded(job: ValidatedJob, handOff: { leaseMs: number; channel: string }, passOver: string | null): Promise<string> {
    const id = job.id ?? nextJobId();
    const exec = executorFor(this.ctx.pool, undefined, this.ctx.limiter);
    const began = Date.now();
    try {
      const r = await exec.query({
        name: this.insertHandedName,
        text: this.insertHandedText,
        values: [id, this.queue, job.name, job.payload, job.maxAttempts, job.priority, job.metadata, job.idempotencyKey, handOff.leaseMs, handOff.channel, passOver],
      });
      if (r.rowCount === 0) this.handOffMissedAt = performance.now();
    } catch (err) {
      throw await this.translateInsertError(err, [job], [id], exec);
    }
    this.ctx.outage?.succeeded('pushes', began);
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
      // Named (prepared) only on our own pool: a caller's connection may not expect it.
      const name = exec.inCallerTransaction ? undefined : this.insertName;
      await withSavepoint(
        exec,
        () =>
          exec.query({
            name,
            // Planned on every run when unnamed: the one-row form plans faster.
            text: name === undefined && jobs.length === 1 ? this.insertOneText : this.insertText,
            values: insertJobsParams(this.queue, ids, jobs),
          }),
        txField,
      );
    } catch (err) {
      throw await this.translateInsertError(err, jobs, ids, exec);
    }
    this.ctx.outage?.succeeded('pushes', began);
    return ids;
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

/**
 * A hand-off carries the job in a NOTIFY, whose payload the server caps at 8,000 bytes: only jobs
 * whose texts surely fit (at most 3 bytes of UTF-8 per UTF-16 unit, plus the message's keys) go
 * that way; larger ones are pushed `pending`.
 */
const HAND_OFF_MAX_UNITS = 2400;
/**
 * After a hand-off found no worker ready, the pushes of the next this-many ms are plain INSERTs:
 * the hand-off statement costs a push about 0.06 ms more (its CTEs and the tables they open:
 * bench/probe-push.mjs), which a stream of pushes into busy workers would pay for nothing. An idle
 * worker is ready again within a round trip of starting its last job, so a trickle of pushes
 * (where the pickup's latency matters) is handed off push after push.
 */
const HAND_OFF_RETRY_MS = 20;
function fitsHandOff(queue: string, job: ValidatedJob): boolean {
  return queue.length + job.name.length + job.payload.length + job.metadata.length + (job.idempotencyKey?.length ?? 0) + (job.id?.length ?? 26) <= HAND_OFF_MAX_UNITS;
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
