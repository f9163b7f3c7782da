import { didYouMean } from '../did-you-mean.js';
import { InvalidJobError } from '../errors.js';
import type { JobStatus } from '../job.interfaces.js';
import { JOB_STATUSES } from '../db/sql/job-columns.js';
import type { FilterCriteria } from '../db/sql/job-filter.js';

/** Which jobs a bulk verb or `listJobs` acts on. Every given criterion must hold. */
export interface JobFilter {
  queue?: string;
  name?: string;
  status?: JobStatus | JobStatus[];
  createdAfter?: Date;
  createdBefore?: Date;
  /** By `doneAt`: the time the job was done, killed or cancelled. */
  finishedAfter?: Date;
  finishedBefore?: Date;
  idempotencyKeyPrefix?: string;
  /**
   * A SQL/JSON path predicate on the payload (`$.email == "ada@example.com"`, `$.total > 100`),
   * bound as a parameter and tested with `@@`. Not indexed: combine it with a queue or a status on
   * a large table.
   */
  payloadMatches?: string;
  /** These jobs (a selection): at most 10,000 ids, each a job id. */
  ids?: string[];
  /** At most this many jobs (bulk verbs only; `listJobs` pages with `limit` of its page). */
  limit?: number;
  /** Required, and the only key, to act on every job: a bulk verb refuses an empty filter. */
  all?: true;
}

export type ValidatedFilter = FilterCriteria;

const KEYS = ['queue', 'name', 'status', 'createdAfter', 'createdBefore', 'finishedAfter', 'finishedBefore', 'idempotencyKeyPrefix', 'payloadMatches', 'ids', 'limit', 'all'];
/** The most ids one filter may list. */
export const MAX_FILTER_IDS = 10_000;
const TEXT_KEYS = ['queue', 'name', 'idempotencyKeyPrefix', 'payloadMatches'] as const;
/** The filter's Date criteria (the dashboard reads them from strings). */
export const FILTER_DATE_KEYS = ['createdAfter', 'createdBefore', 'finishedAfter', 'finishedBefore'] as const;
/** Canonical ULID, as push validates it. */
export const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/**
 * Checks a filter, naming the field at fault (`filter.status[1]`), before anything is read or
 * written. `bulk`: the filter of a verb that changes rows, which must say what it selects.
 */
export function validateFilter(filter: unknown, bulk: boolean, field = 'filter'): ValidatedFilter {
  if (filter === undefined && !bulk) return {};
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) throw new InvalidJobError(field, 'must be an object');
  const f = filter as Record<string, unknown>;
  for (const key of Object.keys(f)) {
    if (!KEYS.includes(key)) throw new InvalidJobError(`${field}.${key}`, `is not a known filter${didYouMean(key, KEYS)}`);
  }
  const out: ValidatedFilter = {};
  for (const key of TEXT_KEYS) {
    const v = f[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0 || v.includes('\0')) throw new InvalidJobError(`${field}.${key}`, 'must be a non-empty string');
    out[key] = v;
  }
  if (f.status !== undefined) {
    const list = Array.isArray(f.status) ? f.status : [f.status];
    if (list.length === 0) throw new InvalidJobError(`${field}.status`, 'must name at least one status');
    list.forEach((s, i) => {
      if (typeof s !== 'string' || !(JOB_STATUSES as readonly string[]).includes(s)) {
        const at = Array.isArray(f.status) ? `${field}.status[${i}]` : `${field}.status`;
        throw new InvalidJobError(at, `must be one of ${JOB_STATUSES.join(', ')}, got ${JSON.stringify(s) ?? String(s)}${didYouMean(String(s), JOB_STATUSES)}`);
      }
    });
    // Rows a 0.1 process wrote during a rolling deploy still say 'failed' (see migration 0003).
    out.statuses = list.includes('retrying') ? [...list, 'failed'] : [...list];
  }
  for (const key of FILTER_DATE_KEYS) {
    const v = f[key];
    if (v === undefined) continue;
    if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw new InvalidJobError(`${field}.${key}`, 'must be a valid Date');
    out[key] = v;
  }
  if (f.ids !== undefined) {
    if (!Array.isArray(f.ids) || f.ids.length === 0 || f.ids.length > MAX_FILTER_IDS) {
      throw new InvalidJobError(`${field}.ids`, `must be an array of 1 to ${MAX_FILTER_IDS} job ids`);
    }
    f.ids.forEach((id, i) => {
      if (!isJobId(id)) throw new InvalidJobError(`${field}.ids[${i}]`, `must be a job id (a ULID in canonical upper-case form), got ${JSON.stringify(id) ?? String(id)}`);
    });
    out.ids = [...new Set(f.ids as string[])];
  }
  if (f.limit !== undefined) {
    if (typeof f.limit !== 'number' || !Number.isSafeInteger(f.limit) || f.limit < 1) throw new InvalidJobError(`${field}.limit`, 'must be an integer >= 1');
    out.limit = f.limit;
  }
  if (f.all !== undefined && f.all !== true) throw new InvalidJobError(`${field}.all`, 'must be true when given');
  const selects = Object.keys(out).some((k) => k !== 'limit');
  if (bulk && f.all === true && selects) throw new InvalidJobError(`${field}.all`, 'cannot be combined with other criteria: give all: true alone, or criteria without it');
  if (bulk && f.all !== true && !selects) {
    throw new InvalidJobError(field, 'selects every job: give criteria (queue, name, status, …), or { all: true } to mean every job');
  }
  return out;
}

/** A job id as the verbs take it: a ULID, or the verb answers "not found" (never a throw). */
export function isJobId(id: unknown): id is string {
  return typeof id === 'string' && ULID_RE.test(id);
}

/** A payloadMatches that Postgres cannot parse as a SQL/JSON path: the caller's input, so an InvalidJobError. */
export function refusedPath(err: unknown): never {
  const e = err as { code?: string; message?: string };
  if (e?.code === '42601' && /jsonpath/.test(e.message ?? '')) throw new InvalidJobError('filter.payloadMatches', `is not a SQL/JSON path predicate (${e.message})`);
  throw err;
}
