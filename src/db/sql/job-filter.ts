/** A checked job filter (see admin/job-filter.ts), in the shape the statements bind. */
export interface FilterCriteria {
  queue?: string;
  name?: string;
  statuses?: string[];
  createdAfter?: Date;
  createdBefore?: Date;
  finishedAfter?: Date;
  finishedBefore?: Date;
  idempotencyKeyPrefix?: string;
  ids?: string[];
  payloadMatches?: string;
  limit?: number;
}

/**
 * The WHERE conditions of a filter, with parameters numbered from `first`. "After" and "before"
 * are exclusive; a prefix is compared with left(), which no collation can bend.
 */
export function filterWhere(c: FilterCriteria, first: number): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (condition: (p: string) => string, value: unknown) => {
    params.push(value);
    parts.push(condition(`$${first + params.length - 1}`));
  };
  if (c.queue !== undefined) add((p) => `queue = ${p}`, c.queue);
  if (c.name !== undefined) add((p) => `name = ${p}`, c.name);
  if (c.statuses !== undefined) add((p) => `status = ANY(${p}::text[])`, c.statuses);
  if (c.createdAfter !== undefined) add((p) => `created_at > ${p}`, c.createdAfter);
  if (c.createdBefore !== undefined) add((p) => `created_at < ${p}`, c.createdBefore);
  if (c.finishedAfter !== undefined) add((p) => `done_at > ${p}`, c.finishedAfter);
  if (c.finishedBefore !== undefined) add((p) => `done_at < ${p}`, c.finishedBefore);
  if (c.payloadMatches !== undefined) add((p) => `payload @@ ${p}::jsonpath`, c.payloadMatches);
  if (c.ids !== undefined) add((p) => `id = ANY(${p}::text[])`, c.ids);
  if (c.idempotencyKeyPrefix !== undefined) add((p) => `left(idempotency_key, length(${p})) = ${p}`, c.idempotencyKeyPrefix);
  return { sql: parts.length > 0 ? parts.join(' AND ') : 'true', params };
}
