import { InvalidJobError } from '../errors.js';
import { isStandardSchema, type StandardSchemaV1 } from './standard-schema.js';

/**
 * A job name bound to its payload schema: `@Process(welcomeJob)` checks and types what the
 * handler receives, `sink.push(welcomeJob, data)` checks (and type-checks) what is pushed.
 */
export interface JobDefinition<Input = unknown, Output = Input> {
  readonly name: string;
  readonly schema: StandardSchemaV1<Input, Output>;
}

/** What `push` takes for a definition. */
export type JobInput<D> = D extends JobDefinition<infer I, unknown> ? I : never;
/** What the handler's `job.data` is for a definition. */
export type JobOutput<D> = D extends JobDefinition<unknown, infer O> ? O : never;

/**
 * `defineJob('welcome', z.object({ email: z.email() }))`.
 * @throws InvalidJobError when the name is empty or the schema is not a Standard Schema.
 */
export function defineJob<S extends StandardSchemaV1>(name: string, schema: S): JobDefinition<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>> {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidJobError('name', 'must be a non-empty string');
  if (!isStandardSchema(schema)) throw new InvalidJobError('schema', 'must be a Standard Schema (zod 4, valibot, arktype, …): an object with a "~standard" property');
  return Object.freeze({ name, schema }) as JobDefinition<StandardSchemaV1.InferInput<S>, StandardSchemaV1.InferOutput<S>>;
}

export function isJobDefinition(value: unknown): value is JobDefinition {
  return typeof value === 'object' && value !== null && typeof (value as JobDefinition).name === 'string' && isStandardSchema((value as JobDefinition).schema);
}
