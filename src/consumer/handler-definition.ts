import type { BackoffOptions } from '../backoff.js';

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
}
