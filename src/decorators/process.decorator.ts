import type { BackoffOptions } from '../backoff.js';
import { PROCESS_METADATA } from '../queue.tokens.js';
import { isJobDefinition, type JobDefinition } from '../typing/job-definition.js';
import type { StandardSchemaV1 } from '../typing/standard-schema.js';

/** Options of one handler; each overrides the queue's setting. */
export interface ProcessOptions {
  /** At most this many jobs of this name run at once in this process. */
  concurrency?: number;
  /** Attempts for jobs pushed without `maxAttempts`. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Aborts `job.signal` and fails the attempt when the handler runs longer. */
  timeoutMs?: number;
  /**
   * A Standard Schema (zod 4, valibot, arktype, …) for the payload: checked at push in this
   * process and at run; the handler gets its output. `@Process(defineJob(name, schema))` sets it too.
   */
  schema?: StandardSchemaV1;
  /**
   * True: the handler runs inside a database transaction (`job.client`, and `job.manager` with the
   * module's `dataSource`) that commits together with the job's completion, fenced by the lease:
   * a worker that lost its lease has its commit refused and its writes rolled back, so the job's
   * database effects happen once. A failed attempt rolls them back and is recorded outside it.
   * Handlers should take `job: TransactionalJob<T>`.
   */
  transaction?: boolean;
}

export interface ProcessMetadata {
  methodName: string | symbol;
  name: string;
  options: ProcessOptions;
}

/**
 * Marks a method as the handler of jobs named `name` in the class's `@Processor` queue.
 * Recorded as a list on the class (not on the method) so the explorer also sees a decorated
 * property that is not a function, and can refuse it with a clear error.
 */
export function Process(job: string | JobDefinition<any, any>, options: ProcessOptions = {}): PropertyDecorator & MethodDecorator {
  const name = isJobDefinition(job) ? job.name : (job as string);
  if (isJobDefinition(job)) options = { ...options, schema: job.schema };
  return (target: object, methodName: string | symbol) => {
    const ctor = target.constructor;
    const list: ProcessMetadata[] = Reflect.getOwnMetadata(PROCESS_METADATA, ctor) ?? [
      ...(Reflect.getMetadata(PROCESS_METADATA, ctor) ?? []),
    ];
    list.push({ methodName, name, options });
    Reflect.defineMetadata(PROCESS_METADATA, list, ctor);
  };
}
