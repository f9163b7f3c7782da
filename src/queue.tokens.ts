/** Injection tokens and metadata keys. Tokens come only from these factories and constants. */

export const QUEUE_MODULE_OPTIONS = Symbol('nestjs-pg-queue:options');
export const QUEUE_RESOLVED_OPTIONS = Symbol('nestjs-pg-queue:resolved-options');
export const QUEUE_POOL = Symbol('nestjs-pg-queue:pool');
export const QUEUE_SCHEMA_READY = Symbol('nestjs-pg-queue:schema-ready');

export const PROCESSOR_METADATA = 'nestjs-pg-queue:processor';
export const PROCESS_METADATA = 'nestjs-pg-queue:process';
export const CRON_METADATA = 'nestjs-pg-queue:cron';
export const ON_JOB_EVENT_METADATA = 'nestjs-pg-queue:on-job-event';

/** The injection token of the {@link QueueSink} of `queue`. */
export function getSinkToken(queue: string): string {
  return `nestjs-pg-queue:sink:${queue}`;
}
