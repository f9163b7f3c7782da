import type { BackoffOptions } from '../backoff.js';
import type { StandardSchemaV1 } from '../typing/standard-schema.js';

/** A discovered `@Process` method with its options merged over its processor's. */
export interface HandlerDefinition {
  queue: string;
  name: string;
  /** "ClassName.method", for errors and logs. */
  label: string;
  callback: (job: any) => unknown;
  concurrency?: number;
  maxAttempts?: number;
  backoff?: BackoffOptions;
  timeoutMs?: number;
  /** The payload's schema: checked before the handler is called; the handler gets its output. */
  schema?: StandardSchemaV1;
  /** Runs in a transaction that commits with the job's fenced completion (see AttemptTransactions). */
  transaction?: boolean;
}
