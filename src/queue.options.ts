import type { ClientConfig, Pool, PoolConfig } from 'pg';
import { didYouMean } from './did-you-mean.js';
import { describe, queueNameProblem } from './queue-name.js';
import { resolveScheduleConfigs, type ScheduleConfig, type ScheduleDefinition } from './schedules/schedule-definition.js';
import { InvalidQueueOptionsError } from './errors.js';
import { resolveAmbientTransactions, type AmbientTransactions } from './producer/ambient-transaction.js';
import { isQueueTelemetry, type QueueTelemetry } from './telemetry/telemetry-port.js';
import { isTypeOrmDataSource, type TypeOrmDataSourceLike } from './handler-transactions/typeorm-transactions.js';
import { validateBackoff, type BackoffOptions } from './backoff.js';
import { resolveBootRetry, type BootRetryOptions, type ResolvedBootRetry } from './db/boot-retry.js';
import { DEFAULT_RETENTION, resolveRetention, type ResolvedRetention, type RetentionOptions } from './retention/retention.options.js';

/** One queue: a name, or a name with settings that override the module's. */
export interface QueueConfig {
  name: string;
  /** Handlers of this queue running at once in one process. Default 10. */
  concurrency?: number;
  /** Fallback poll of this queue. Default: the module's `pollIntervalMs`. */
  pollIntervalMs?: number;
  /**
   * Jobs a process may claim beyond its free slots and hold in memory until a slot frees.
   * Default 'auto': hold what this process will start within about 10 ms at its measured rate
   * (none until its first attempts finish; up to 1,000 for very short jobs), and hand back a held
   * job that stopped moving for 40 ms. Claims then come in larger batches under a backlog of short jobs, and
   * a held job costs nothing another process could have done sooner. A number (up to 10,000)
   * holds that many whatever the handlers' speed; 0 claims only what can start now. Held jobs
   * count as `running`, wait behind each other even if a more urgent job arrives, and if the
   * process dies they wait for the orphan timeout before another worker takes them.
   */
  prefetch?: number | 'auto';
  /**
   * Default true. A job pushed by this process outside a transaction, due now, while this
   * process's worker for the queue has a free slot and no claim could find an older job, is
   * inserted already claimed by that worker and starts when the INSERT returns: one round trip
   * instead of an INSERT, a NOTIFY and a claim, and no other process is woken for it. A push that
   * this process's worker cannot take is handed to an idle worker of another process if one is
   * ready: inserted claimed by it, the job itself in the NOTIFY, started without a claim (see
   * Readiness). False: every push is inserted `pending` and goes to whichever worker claims it
   * first, and this process's worker is never handed jobs from others.
   */
  directStart?: boolean;
  /** Attempts for jobs pushed without `maxAttempts`. Default: the module's. */
  maxAttempts?: number;
  /** Delay before a failed attempt is retried. Default: the module's. */
  backoff?: BackoffOptions;
  /**
   * True: the first boot that knows this queue records it paused (cluster-wide), so nothing runs
   * until `QueueAdmin.resume`. A queue with a recorded state (paused or resumed) keeps it: a
   * restart never undoes a resume. Default false.
   */
  startPaused?: boolean;
  /**
   * True: this queue's job events are also sent to every other process (a NOTIFY per ack batch,
   * ids only), so QueueEvents listeners and `waitFor` anywhere see them. Default false: events
   * stay in the process that ran the job.
   */
  events?: boolean;
  /** How long this queue keeps finished jobs, by status (overrides the module's `retention`). */
  retention?: RetentionOptions | false;
}

/** Options of `QueueModule.forRoot()`; see the README for each one. */
export interface QueueModuleOptions {
  connection?: PoolConfig;
  pool?: Pool;
  listenConnection?: ClientConfig;
  schema?: string;
  migrate?: boolean;
  queues: Array<string | QueueConfig>;
  workers?: boolean;
  pollIntervalMs?: number;
  heartbeatIntervalMs?: number;
  orphanTimeoutMs?: number;
  shutdownGraceMs?: number;
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Largest accepted payload (and metadata), in bytes of JSON. Default 1 MiB. */
  maxPayloadBytes?: number;
  /**
   * Default true: the hot statements (claim, ack, insert) are named prepared statements on the
   * queue's pool, planned once per connection. False sends every statement unnamed, which any
   * transaction-mode pooler accepts (PgBouncer before 1.21 or without max_prepared_statements,
   * RDS Proxy, Supabase's and Neon's poolers in transaction mode).
   */
  preparedStatements?: boolean;
  /** Retries at bootstrap while the database cannot be reached. Default 5 attempts over about 8 s; false: one. */
  bootRetry?: BootRetryOptions | boolean;
  /** While the database is unreachable, how often one summary line is logged. Default 30 s. */
  outageLogIntervalMs?: number;
  /** How long finished jobs are kept, by status. Default: done and cancelled 7 days, killed 30 days; false: forever. */
  retention?: RetentionOptions | false;
  /** How often a worker process prunes finished jobs past their retention. Default 60 s. */
  pruneIntervalMs?: number;
  /** Recurring jobs handled anywhere (another service, a producer-only app); see also @Cron. */
  schedules?: ScheduleConfig[];
  /** The app the schedules belong to: its bootstrap adds, changes and removes only its own. Default 'default'. */
  scheduleOwner?: string;
  /**
   * Traces and metrics: `openTelemetry()` from 'nestjs-pg-queue/opentelemetry' (or any
   * QueueTelemetry adapter). Default: none, and the queue calls no telemetry code at all.
   */
  telemetry?: QueueTelemetry;
  /**
   * `clsTransactions()` from 'nestjs-pg-queue/transactional': a push that names no transaction,
   * made inside `@Transactional()` of @nestjs-cls/transactional, joins that transaction. Default:
   * none, and a push joins only the transaction it is given.
   */
  ambientTransactions?: AmbientTransactions;
  /**
   * A TypeORM DataSource on the queue's database: `{ transaction: true }` handlers then run on its
   * QueryRunners and get `job.manager`. Default: they run on a pool of the queue's own, sized to
   * their slots, and get `job.client` only.
   */
  dataSource?: TypeOrmDataSourceLike;
}

export interface ResolvedQueueConfig {
  name: string;
  concurrency: number;
  pollIntervalMs: number;
  prefetch: number | 'auto';
  directStart: boolean;
  maxAttempts: number;
  backoff: BackoffOptions;
  startPaused: boolean;
  events: boolean;
  retention: ResolvedRetention;
}

export interface ResolvedQueueOptions {
  connection?: PoolConfig;
  pool?: Pool;
  listenConnection?: ClientConfig;
  schema: string;
  migrate: boolean;
  queues: Map<string, ResolvedQueueConfig>;
  workers: boolean;
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  orphanTimeoutMs: number;
  shutdownGraceMs: number;
  maxAttempts: number;
  backoff: BackoffOptions;
  maxPayloadBytes: number;
  preparedStatements: boolean;
  bootRetry: ResolvedBootRetry;
  outageLogIntervalMs: number;
  retention: ResolvedRetention;
  pruneIntervalMs: number;
  schedules: ScheduleDefinition[];
  scheduleOwner: string;
  /** Absent: no telemetry code runs. */
  telemetry?: QueueTelemetry;
  ambientTransactions?: AmbientTransactions;
  dataSource?: TypeOrmDataSourceLike;
}

export const DEFAULT_BACKOFF: BackoffOptions = { type: 'exponential', baseMs: 1000, maxMs: 3_600_000, jitter: true };
export const DEFAULT_CONCURRENCY = 10;

const MODULE_KEYS = new Set([
  'connection', 'pool', 'listenConnection', 'schema', 'migrate', 'queues', 'workers', 'pollIntervalMs',
  'heartbeatIntervalMs', 'orphanTimeoutMs', 'shutdownGraceMs', 'maxAttempts', 'backoff', 'maxPayloadBytes',
  'preparedStatements', 'bootRetry', 'outageLogIntervalMs', 'retention', 'pruneIntervalMs', 'schedules', 'scheduleOwner', 'telemetry',
  'ambientTransactions', 'dataSource',
]);
const QUEUE_KEYS = new Set(['name', 'concurrency', 'pollIntervalMs', 'prefetch', 'directStart', 'maxAttempts', 'backoff', 'startPaused', 'retention', 'events']);
/** One claim holds at most this many row locks; more would be one long statement. */
export const MAX_PREFETCH = 10_000;

/** Unquoted-identifier shape, short enough that "<schema>.jobs" is a valid NOTIFY channel. */
const SCHEMA_RE = /^[A-Za-z_][A-Za-z0-9_]{0,49}$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function positiveInt(option: string, value: unknown, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidQueueOptionsError(option, `must be an integer ${range}, got ${describe(value)}`);
  }
  return value;
}

function resolvePrefetch(option: string, value: unknown): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_PREFETCH) {
    throw new InvalidQueueOptionsError(option, `must be 'auto' or an integer from 0 to ${MAX_PREFETCH}, got ${describe(value)}`);
  }
  return value;
}

/** Validates every option and fills in defaults. Throws {@link InvalidQueueOptionsError}. */
export function resolveQueueOptions(options: QueueModuleOptions): ResolvedQueueOptions {
  if (!isPlainObject(options)) throw new InvalidQueueOptionsError('options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (!MODULE_KEYS.has(key)) throw new InvalidQueueOptionsError(key, `is not a known option${didYouMean(key, MODULE_KEYS)}`);
  }
  if (options.connection === undefined && options.pool === undefined) {
    throw new InvalidQueueOptionsError('connection', 'is required (a pg PoolConfig) unless "pool" is given');
  }
  if (options.connection !== undefined && options.pool !== undefined) {
    throw new InvalidQueueOptionsError('pool', 'cannot be combined with "connection": give one of them');
  }
  if (options.connection !== undefined && !isPlainObject(options.connection)) {
    const hint = typeof options.connection === 'string' ? `: use { connectionString: '…' } for a connection string` : '';
    throw new InvalidQueueOptionsError('connection', `must be a pg PoolConfig object${hint}`);
  }
  if (options.pool !== undefined && (typeof options.pool !== 'object' || typeof options.pool?.connect !== 'function')) {
    throw new InvalidQueueOptionsError('pool', 'must be a pg.Pool');
  }
  if (options.listenConnection !== undefined && !isPlainObject(options.listenConnection)) {
    const hint = typeof options.listenConnection === 'string' ? `: use { connectionString: '…' } for a connection string` : '';
    throw new InvalidQueueOptionsError('listenConnection', `must be a pg ClientConfig object${hint}`);
  }
  const schema = options.schema ?? 'pgqueue';
  if (typeof schema !== 'string' || !SCHEMA_RE.test(schema)) {
    throw new InvalidQueueOptionsError(
      'schema',
      `must be an identifier (letters, digits, underscores; not starting with a digit; at most 50 characters), got ${describe(schema)}`,
    );
  }
  for (const flag of ['migrate', 'workers', 'preparedStatements'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new InvalidQueueOptionsError(flag, `must be a boolean, got ${describe(options[flag])}`);
    }
  }
  const pollIntervalMs = positiveInt('pollIntervalMs', options.pollIntervalMs, 1000, 10);
  const heartbeatIntervalMs = positiveInt('heartbeatIntervalMs', options.heartbeatIntervalMs, 5000, 10);
  const orphanTimeoutMs = positiveInt('orphanTimeoutMs', options.orphanTimeoutMs, 30_000, 10);
  if (orphanTimeoutMs < 2 * heartbeatIntervalMs) {
    throw new InvalidQueueOptionsError(
      'orphanTimeoutMs',
      `must be at least twice heartbeatIntervalMs (${heartbeatIntervalMs}), got ${orphanTimeoutMs}: a live worker would lose its jobs`,
    );
  }
  const shutdownGraceMs = positiveInt('shutdownGraceMs', options.shutdownGraceMs, 10_000, 0);
  const maxAttempts = positiveInt('maxAttempts', options.maxAttempts, 25);
  const maxPayloadBytes = positiveInt('maxPayloadBytes', options.maxPayloadBytes, 1024 * 1024);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  validateBackoff('backoff', backoff);
  const retention = resolveRetention('retention', options.retention, DEFAULT_RETENTION);

  if (!Array.isArray(options.queues) || options.queues.length === 0) {
    throw new InvalidQueueOptionsError('queues', 'must be a non-empty array of queue names or { name, ... } objects');
  }
  const queues = new Map<string, ResolvedQueueConfig>();
  options.queues.forEach((entry, i) => {
    const at = `queues[${i}]`;
    const config: QueueConfig = typeof entry === 'string' ? { name: entry } : entry;
    if (!isPlainObject(config)) throw new InvalidQueueOptionsError(at, 'must be a queue name or a { name, ... } object');
    for (const key of Object.keys(config)) {
      if (!QUEUE_KEYS.has(key)) throw new InvalidQueueOptionsError(`${at}.${key}`, `is not a known queue option${didYouMean(key, QUEUE_KEYS)}`);
    }
    const problem = queueNameProblem(config.name);
    if (problem) throw new InvalidQueueOptionsError(`${at}.name`, problem);
    if (queues.has(config.name)) {
      throw new InvalidQueueOptionsError(`${at}.name`, `duplicates queue "${config.name}": each queue is listed once`);
    }
    if (config.backoff !== undefined) validateBackoff(`${at}.backoff`, config.backoff);
    for (const flag of ['directStart', 'startPaused', 'events'] as const) {
      if (config[flag] !== undefined && typeof config[flag] !== 'boolean') {
        throw new InvalidQueueOptionsError(`${at}.${flag}`, `must be a boolean, got ${describe(config[flag])}`);
      }
    }
    queues.set(config.name, {
      name: config.name,
      concurrency: positiveInt(`${at}.concurrency`, config.concurrency, DEFAULT_CONCURRENCY),
      pollIntervalMs: positiveInt(`${at}.pollIntervalMs`, config.pollIntervalMs, pollIntervalMs, 10),
      prefetch: resolvePrefetch(`${at}.prefetch`, config.prefetch),
      directStart: config.directStart ?? true,
      maxAttempts: positiveInt(`${at}.maxAttempts`, config.maxAttempts, maxAttempts),
      backoff: config.backoff ?? backoff,
      startPaused: config.startPaused ?? false,
      events: config.events ?? false,
      retention: resolveRetention(`${at}.retention`, config.retention, retention),
    });
  });

  return {
    connection: options.connection,
    pool: options.pool,
    listenConnection: options.listenConnection,
    schema,
    migrate: options.migrate ?? true,
    queues,
    workers: options.workers ?? true,
    pollIntervalMs,
    heartbeatIntervalMs,
    orphanTimeoutMs,
    shutdownGraceMs,
    maxAttempts,
    backoff,
    maxPayloadBytes,
    preparedStatements: options.preparedStatements ?? true,
    bootRetry: resolveBootRetry(options.bootRetry),
    outageLogIntervalMs: positiveInt('outageLogIntervalMs', options.outageLogIntervalMs, 30_000, 100),
    retention,
    pruneIntervalMs: positiveInt('pruneIntervalMs', options.pruneIntervalMs, 60_000, 100),
    schedules: resolveScheduleConfigs(options.schedules),
    scheduleOwner: resolveOwner(options.scheduleOwner),
    telemetry: resolveTelemetry(options.telemetry),
    ambientTransactions: resolveAmbientTransactions(options.ambientTransactions),
    dataSource: resolveDataSource(options.dataSource),
  };
}

function resolveDataSource(value: unknown): TypeOrmDataSourceLike | undefined {
  if (value === undefined) return undefined;
  if (!isTypeOrmDataSource(value)) {
    throw new InvalidQueueOptionsError('dataSource', `must be a TypeORM DataSource (an object with createQueryRunner()), got ${describe(value)}`);
  }
  const type = value.options?.type;
  if (type !== undefined && type !== 'postgres') {
    throw new InvalidQueueOptionsError('dataSource', `must use the "postgres" driver (the queue's database), got "${type}"`);
  }
  return value;
}

function resolveOwner(value: unknown): string {
  if (value === undefined) return 'default';
  if (typeof value !== 'string' || value.length === 0 || value.length > 200 || value.includes('\0')) {
    throw new InvalidQueueOptionsError('scheduleOwner', 'must be a non-empty string of at most 200 characters (the app\'s name)');
  }
  return value;
}

function resolveTelemetry(value: unknown): QueueTelemetry | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isQueueTelemetry(value)) {
    throw new InvalidQueueOptionsError(
      'telemetry',
      `must be a telemetry adapter such as openTelemetry() from 'nestjs-pg-queue/opentelemetry' (an object with pushing, attempt, landed, start and stop), got ${describe(value)}`,
    );
  }
  return value;
}
