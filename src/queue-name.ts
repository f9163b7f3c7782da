export const MAX_QUEUE_NAME_LENGTH = 128;

/** A value as an error message shows it: strings quoted, a BigInt as `1n`, a symbol or function by its type. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol' || typeof v === 'function') return typeof v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** A queue name: non-empty, at most 128 characters, no NUL byte, well-formed unicode. */
export function queueNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `must be a string, got ${describe(name)}`;
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_QUEUE_NAME_LENGTH) return `must be at most ${MAX_QUEUE_NAME_LENGTH} characters`;
  if (name.includes('\0')) return 'must not contain a NUL byte';
  if (!name.isWellFormed()) return 'must be well-formed unicode';
  return undefined;
}
