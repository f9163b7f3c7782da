import { FILTER_DATE_KEYS, type JobFilter } from '../admin/job-filter.js';
import type { ListPage } from '../admin/job-operations.js';
import { InvalidJobError } from '../errors.js';
import type { JobStatus } from '../job.interfaces.js';

const KEYS = ['queue', 'name', 'status', 'createdAfter', 'createdBefore', 'finishedAfter', 'finishedBefore', 'idempotencyKeyPrefix', 'payloadMatches', 'after', 'limit', 'order'];

/**
 * The jobs list's query string as a filter and a page. Strings only ever reach SQL as bound
 * parameters (through validateFilter and listJobs); anything malformed is an InvalidJobError
 * naming the query field, which the API answers with 400.
 */
export function jobQuery(query: Record<string, unknown>): { filter: JobFilter; page: ListPage } {
  for (const key of Object.keys(query)) if (!KEYS.includes(key)) throw new InvalidJobError(`query.${key}`, `is not a known filter (known: ${KEYS.join(', ')})`);
  const text = (key: string): string | undefined => {
    const v = query[key];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw new InvalidJobError(`query.${key}`, 'must be given once');
    return v;
  };
  const filter: Record<string, unknown> = {};
  for (const key of ['queue', 'name', 'idempotencyKeyPrefix', 'payloadMatches']) if (text(key) !== undefined) filter[key] = text(key);
  const status = text('status');
  if (status !== undefined) filter.status = status.split(',') as JobStatus[];
  for (const key of FILTER_DATE_KEYS) {
    const v = text(key);
    if (v === undefined) continue;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new InvalidJobError(`query.${key}`, `must be an ISO date, got ${JSON.stringify(v)}`);
    filter[key] = d;
  }
  const page: ListPage = {};
  const after = text('after');
  if (after !== undefined) page.after = after;
  const limit = text('limit');
  if (limit !== undefined) {
    if (!/^\d{1,4}$/.test(limit)) throw new InvalidJobError('query.limit', 'must be an integer from 1 to 1000');
    page.limit = Number(limit);
  }
  const order = text('order');
  if (order !== undefined) {
    if (order !== 'asc' && order !== 'desc') throw new InvalidJobError('query.order', 'must be asc or desc');
    page.order = order;
  }
  return { filter: filter as JobFilter, page };
}
