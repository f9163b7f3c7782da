import { InvalidJobError } from '../errors.js';
import { LossyValue, stringifyKeepingEverything } from './lossy-values.js';

/**
 * JSON.stringify escapes a NUL as \u0000 and a lone surrogate as \udXXX; jsonb refuses both.
 * The look-behind skips an escaped backslash, so a literal "\u0000" text is not a false hit.
 */
const JSONB_UNSAFE_ESCAPE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/**
 * Serialises `value` as JSON for a jsonb column, or throws naming `field`. `refuseLossy` (job data
 * and metadata): a value JSON would drop or change is refused with its path (see lossy-values).
 */
export function toJsonb(field: string, value: unknown, maxBytes: number, refuseLossy = false): string {
  let json: string | undefined;
  try {
    json = refuseLossy ? stringifyKeepingEverything(field, value) : JSON.stringify(value);
  } catch (err) {
    if (err instanceof LossyValue) {
      throw new InvalidJobError(err.path, `is ${err.what}, which JSON would drop or change: convert it first (e.g. [...set], Object.fromEntries(map), null)`);
    }
    throw new InvalidJobError(field, `is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (json === undefined) {
    throw new InvalidJobError(field, `is not JSON-serialisable (${typeof value} at top level)`);
  }
  if (JSONB_UNSAFE_ESCAPE.test(json)) {
    throw new InvalidJobError(field, 'contains a NUL character or a lone surrogate, which jsonb cannot store');
  }
  // A JS string's length is at most its UTF-8 size, so most payloads skip the byte count.
  if (json.length * 3 > maxBytes && Buffer.byteLength(json) > maxBytes) {
    throw new InvalidJobError(field, `is ${Buffer.byteLength(json)} bytes as JSON, over the limit of ${maxBytes}`);
  }
  return json;
}
