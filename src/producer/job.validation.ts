import { didYouMean } from '../did-you-mean.js';
import { InvalidJobError } from '../errors.js';
import { toJsonb } from '../encoding/jsonb.js';
import type { ValidatedJob } from '../encoding/validated-job.js';
import type { JobToPush, PushOptions, TransactionOptions } from '../job.interfaces.js';

export const MAX_JOB_NAME_LENGTH = 255;
/** Bounded so that the (queue, idempotency_key) index entry stays far below btree's row limit. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 512;
const INT4_MIN = -2_147_483_648;
const INT4_MAX = 2_147_483_647;
/** Canonical ULID: Crockford base32, upper case, first character 0-7 (48-bit time). */
const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
/** Years Postgres and JavaScript both round-trip without surprises. */
// Date.UTC would read year 1 as 1901; this is 0001-01-01T00:00:00Z.
const MIN_RUN_AT = -62_135_596_800_000;
const MAX_RUN_AT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const MAX_DELAY_MS = 100 * 365 * 24 * 3600 * 1000;

const JOB_OPTION_KEYS = new Set(['id', 'runAt', 'delayMs', 'priority', 'maxAttempts', 'idempotencyKey', 'metadata']);
const TX_KEYS = ['queryRunner', 'manager', 'client'] as const;
const JOB_KEYS = new Set(['name', 'data', 'options']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function textProblem(value: string, maxLength: number): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > maxLength) return `must be at most ${maxLength} characters, got ${value.length}`;
  if (value.includes('\0')) return 'must not contain a NUL byte (Postgres text cannot store it)';
  if (!value.isWellFormed()) return 'must be well-formed unicode (it has a lone surrogate)';
  return undefined;
}

/** pushMany's `tx` argument: an object with only transaction keys, then as validateTransaction. */
export function validateTxArgument(tx: TransactionOptions | undefined): void {
  if (tx !== undefined && (tx === null || typeof tx !== 'object')) {
    throw new InvalidJobError('tx', 'must be { queryRunner }, { manager } or { client }');
  }
  for (const key of Object.keys(tx ?? {})) {
    if (!['queryRunner', 'manager', 'client'].includes(key)) {
      throw new InvalidJobError(`tx.${key}`, 'is not a transaction option (queryRunner, manager, client)');
    }
  }
  validateTransaction(tx, 'tx');
}

/** Checks the transaction options: at most one, and it must really be inside a transaction. */
export function validateTransaction(tx: TransactionOptions | undefined, field = 'options'): void {
  // null is "no options", as validateJob treats it; reading keys of null would throw a TypeError.
  if (tx === undefined || tx === null) return;
  const given = TX_KEYS.filter((k) => tx[k] !== undefined && tx[k] !== null);
  if (given.length > 1) {
    throw new InvalidJobError(`${field}.${given[1]}`, `cannot be combined with ${given[0]}: give at most one transaction`);
  }
  if (tx.queryRunner != null) {
    const qr = tx.queryRunner;
    if (typeof qr.query !== 'function') throw new InvalidJobError(`${field}.queryRunner`, 'must be a TypeORM QueryRunner');
    if (qr.isReleased) throw new InvalidJobError(`${field}.queryRunner`, 'is released');
    if (!qr.isTransactionActive) {
      throw new InvalidJobError(
        `${field}.queryRunner`,
        'has no open transaction: call queryRunner.startTransaction() first, or push without it',
      );
    }
  }
  if (tx.manager != null) {
    const m = tx.manager;
    if (typeof m.query !== 'function') throw new InvalidJobError(`${field}.manager`, 'must be a TypeORM EntityManager');
    if (!m.queryRunner?.isTransactionActive) {
      throw new InvalidJobError(
        `${field}.manager`,
        'is not inside a transaction: pass the manager that dataSource.transaction(manager => ...) gives you',
      );
    }
  }
  if (tx.client != null && typeof tx.client.query !== 'function') {
    throw new InvalidJobError(`${field}.client`, 'must be a pg Client or PoolClient');
  }
}

/** Checks one job and its options; `at` prefixes field names (e.g. "jobs[3]."). */
export function validateJob(
  name: unknown,
  data: unknown,
  options: PushOptions | undefined,
  maxPayloadBytes: number,
  at = '',
  allowTransaction = true,
): ValidatedJob {
  if (typeof name !== 'string') throw new InvalidJobError(`${at}name`, `must be a string, got ${typeof name}`);
  const nameProblem = textProblem(name, MAX_JOB_NAME_LENGTH);
  if (nameProblem) throw new InvalidJobError(`${at}name`, nameProblem);

  const o = options ?? {};
  if (!isPlainObject(o)) throw new InvalidJobError(`${at}options`, 'must be a plain object');
  for (const key of Object.keys(o)) {
    if ((TX_KEYS as readonly string[]).includes(key)) {
      if (!allowTransaction) {
        throw new InvalidJobError(`${at}options.${key}`, "belongs in pushMany's second argument, not in a job's options");
      }
    } else if (!JOB_OPTION_KEYS.has(key)) {
      throw new InvalidJobError(`${at}options.${key}`, `is not a known push option${didYouMean(key, [...JOB_OPTION_KEYS, ...TX_KEYS])}`);
    }
  }

  let id: string | null = null;
  if (o.id !== undefined) {
    if (typeof o.id !== 'string' || !ULID_RE.test(o.id)) {
      throw new InvalidJobError(`${at}options.id`, 'must be a ULID in canonical upper-case form (26 characters)');
    }
    id = o.id;
  }

  let maxAttempts: number | null = null;
  if (o.maxAttempts !== undefined) {
    if (typeof o.maxAttempts !== 'number' || !Number.isInteger(o.maxAttempts) || o.maxAttempts < 1 || o.maxAttempts > INT4_MAX) {
      throw new InvalidJobError(`${at}options.maxAttempts`, 'must be an integer >= 1');
    }
    maxAttempts = o.maxAttempts;
  }

  let priority = 0;
  if (o.priority !== undefined) {
    if (typeof o.priority !== 'number' || !Number.isInteger(o.priority) || o.priority < INT4_MIN || o.priority > INT4_MAX) {
      throw new InvalidJobError(`${at}options.priority`, `must be an integer between ${INT4_MIN} and ${INT4_MAX}`);
    }
    priority = o.priority;
  }

  if (o.runAt !== undefined && o.delayMs !== undefined) {
    throw new InvalidJobError(`${at}options.delayMs`, 'cannot be combined with runAt: give one of them');
  }
  let runAt: Date | null = null;
  if (o.runAt !== undefined) {
    const t = o.runAt instanceof Date ? o.runAt.getTime() : Number.NaN;
    if (Number.isNaN(t)) throw new InvalidJobError(`${at}options.runAt`, 'must be a valid Date');
    if (t < MIN_RUN_AT || t > MAX_RUN_AT) throw new InvalidJobError(`${at}options.runAt`, 'must be between year 1 and 9999');
    runAt = new Date(t);
  }
  let delayMs: number | null = null;
  if (o.delayMs !== undefined) {
    if (typeof o.delayMs !== 'number' || !Number.isFinite(o.delayMs) || o.delayMs < 0 || o.delayMs > MAX_DELAY_MS) {
      throw new InvalidJobError(`${at}options.delayMs`, 'must be a finite number of milliseconds >= 0 (at most 100 years)');
    }
    delayMs = o.delayMs;
  }

  let idempotencyKey: string | null = null;
  if (o.idempotencyKey !== undefined) {
    if (typeof o.idempotencyKey !== 'string') throw new InvalidJobError(`${at}options.idempotencyKey`, 'must be a string');
    const problem = textProblem(o.idempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH);
    if (problem) throw new InvalidJobError(`${at}options.idempotencyKey`, problem);
    idempotencyKey = o.idempotencyKey;
  }

  let metadata = '{}';
  if (o.metadata !== undefined) {
    if (!isPlainObject(o.metadata)) throw new InvalidJobError(`${at}options.metadata`, 'must be a plain JSON object');
    metadata = toJsonb(`${at}options.metadata`, o.metadata, maxPayloadBytes, true);
  }

  const payload = toJsonb(`${at}data`, data, maxPayloadBytes, true);
  return { id, name, payload, maxAttempts, priority, runAt, delayMs, metadata, idempotencyKey };
}

/** Checks every element of a `pushMany` call; one bad element fails the whole call. */
export function validateJobs(jobs: unknown, maxPayloadBytes: number): ValidatedJob[] {
  if (!Array.isArray(jobs)) throw new InvalidJobError('jobs', 'must be an array of { name, data, options? }');
  return jobs.map((job: JobToPush, i) => {
    const at = `jobs[${i}]`;
    if (!isPlainObject(job)) throw new InvalidJobError(at, 'must be an object { name, data, options? }');
    for (const key of Object.keys(job)) {
      if (!JOB_KEYS.has(key)) throw new InvalidJobError(`${at}.${key}`, 'is not a known job field (name, data, options)');
    }
    return validateJob(job.name, job.data, job.options, maxPayloadBytes, `${at}.`, false);
  });
}
