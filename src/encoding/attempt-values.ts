import { ResultNotSerializableError } from '../errors.js';
import { toJsonb } from './jsonb.js';

const MAX_PROGRESS_BYTES = 64 * 1024;
/** The largest result stored; bigger ones fail the attempt rather than the ack batch. */
const MAX_RESULT_BYTES = 16 * 1024 * 1024;

/** A `job.progress()` value as stored: lossy values refused. @throws InvalidJobError naming `progress`. */
export function progressJson(value: unknown): string {
  return toJsonb('progress', value, MAX_PROGRESS_BYTES, true);
}

/** A handler's result as stored. @throws ResultNotSerializableError (the attempt then fails). */
export function resultJson(value: unknown): string {
  try {
    return toJsonb('result', value, MAX_RESULT_BYTES);
  } catch (e) {
    throw new ResultNotSerializableError((e as Error).message.replace(/^Invalid job: result /, ''));
  }
}
