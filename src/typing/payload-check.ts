import { InvalidJobError } from '../errors.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** One problem a schema found, with where it is ("data.email", "data.items[2].sku"). */
export interface PayloadIssue {
  path: string;
  message: string;
}

/**
 * Runs `schema` on `value`: `{ value }` (the schema's output: defaults applied, values coerced)
 * or `{ issues }`, each issue's path written from `root` as a JS accessor.
 */
export async function checkPayload(schema: StandardSchemaV1, value: unknown, root = 'data'): Promise<{ value: unknown; issues?: undefined } | { issues: PayloadIssue[] }> {
  let result = schema['~standard'].validate(value);
  if (result instanceof Promise) result = await result;
  if (!result.issues) return { value: result.value };
  return { issues: result.issues.map((i) => ({ path: pathText(root, i.path), message: i.message })) };
}

function pathText(root: string, path: StandardSchemaV1.Issue['path']): string {
  let out = root;
  for (const segment of path ?? []) {
    const key = typeof segment === 'object' && segment !== null ? segment.key : segment;
    out += typeof key === 'number' ? `[${key}]` : typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** "data.email: Invalid email; data.age: Too small" (at most five, then how many more). */
export function issuesText(issues: readonly PayloadIssue[]): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`);
  if (issues.length > 5) shown.push(`and ${issues.length - 5} more`);
  return shown.join('; ');
}

/** The schema's verdict on a payload about to be pushed: InvalidJobError with the issues, before anything is written. */
export async function checkAtPush(schema: StandardSchemaV1, data: unknown, field: string): Promise<void> {
  const checked = await checkPayload(schema, data, field);
  if (checked.issues) throw new InvalidJobError(field, `does not match the job's schema: ${issuesText(checked.issues)}`, checked.issues);
}
