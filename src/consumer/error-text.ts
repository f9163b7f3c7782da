const MAX_ERROR_LENGTH = 64 * 1024;

/**
 * The `last_error` text of a failed attempt: an Error's stack (which starts with its message),
 * its cause, or a description of whatever else was thrown. NUL bytes are removed (text columns
 * cannot hold them) and the text is bounded.
 */
export function errorText(err: unknown): string {
  let text: string;
  if (err instanceof Error) {
    text = err.stack && err.stack.includes(err.message) ? err.stack : `${err.name}: ${err.message}\n${err.stack ?? ''}`;
    if (err.cause !== undefined) text += `\nCaused by: ${errorText(err.cause)}`;
  } else {
    text = `Non-Error thrown: ${describeThrown(err)}`;
  }
  text = text.replaceAll('\0', '\\0');
  if (!text.isWellFormed()) text = text.toWellFormed();
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}… (truncated)` : text;
}

function describeThrown(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function' || typeof v === 'symbol') return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
