import type { JobToPush, PushOptions, TransactionOptions } from '../job.interfaces.js';
import { validateJob, validateJobs, validateTransaction, validateTxArgument } from '../producer/job.validation.js';
import type { ValidatedJob } from '../encoding/validated-job.js';
import { isJobDefinition, type JobDefinition, type JobInput } from '../typing/job-definition.js';
import { checkAtPush } from '../typing/payload-check.js';
import type { StandardSchemaV1 } from '../typing/standard-schema.js';

/** What the sink hands a validated job to (the QueueTester): records it, and in inline mode runs it. */
export interface JobRecorder {
  schemaFor(queue: string, name: string): StandardSchemaV1 | undefined;
  record(queue: string, jobs: ValidatedJob[], options: PushOptions[]): Promise<string[]>;
}

/**
 * Stands in for QueueSink under the same token. The checks are the real sink's own functions
 * (validateJob, the schema check), so a push a test accepts is one production accepts too; then
 * the job is recorded instead of inserted.
 */
export class TestingSink {
  constructor(
    readonly queue: string,
    private readonly recorder: JobRecorder,
    private readonly maxPayloadBytes: number,
  ) {}

  async push<D extends JobDefinition<any, any>>(job: D, data: JobInput<D>, options?: PushOptions): Promise<string>;
  async push<T = unknown>(name: string, data: T, options?: PushOptions): Promise<string>;
  async push(nameOrJob: string | JobDefinition, data: unknown, options?: PushOptions): Promise<string> {
    validateTransaction(options);
    const def = isJobDefinition(nameOrJob) ? nameOrJob : null;
    const job = validateJob(def ? def.name : nameOrJob, data, options, this.maxPayloadBytes);
    await this.checkSchema(def, job.name, data, 'data');
    const [id] = await this.recorder.record(this.queue, [job], [options ?? {}]);
    return id;
  }

  async pushMany(jobs: JobToPush[], tx?: TransactionOptions): Promise<string[]> {
    validateTxArgument(tx);
    const plain = Array.isArray(jobs) ? jobs.map((j) => (isJobDefinition(j?.name) ? { ...j, name: j.name.name } : j)) : jobs;
    const validated = validateJobs(plain, this.maxPayloadBytes);
    for (let i = 0; i < validated.length; i++) {
      const given = jobs[i].name;
      await this.checkSchema(isJobDefinition(given) ? given : null, validated[i].name, jobs[i].data, `jobs[${i}].data`);
    }
    if (validated.length === 0) return [];
    return this.recorder.record(this.queue, validated, jobs.map((j) => j.options ?? {}));
  }

  /** The definition's schema, else the discovered handler's: as the real sink, which asks JobSchemas. */
  private async checkSchema(def: JobDefinition | null, name: string, data: unknown, field: string): Promise<void> {
    const schema = def ? def.schema : this.recorder.schemaFor(this.queue, name);
    if (schema) await checkAtPush(schema, data, field);
  }
}
