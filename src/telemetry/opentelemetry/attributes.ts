/**
 * Attribute names. The messaging ones follow OpenTelemetry's messaging semantic conventions; the
 * queue's own live under `nestjs_pg_queue.`. Values are kept to low cardinality on metrics (queue,
 * job name, outcome); ids go on spans only.
 */
export const MESSAGING_SYSTEM = 'messaging.system';
export const DESTINATION = 'messaging.destination.name';
export const OPERATION_TYPE = 'messaging.operation.type';
export const OPERATION_NAME = 'messaging.operation.name';
export const MESSAGE_ID = 'messaging.message.id';
export const BATCH_COUNT = 'messaging.batch.message_count';
export const ERROR_TYPE = 'error.type';
export const JOB_NAME = 'nestjs_pg_queue.job.name';
export const JOB_ATTEMPT = 'nestjs_pg_queue.job.attempt';
export const JOB_OUTCOME = 'nestjs_pg_queue.job.outcome';
export const IN_TRANSACTION = 'nestjs_pg_queue.push.in_transaction';

/** The `messaging.system` value this queue reports. */
export const SYSTEM = 'nestjs-pg-queue';
/** The instrumentation scope's name (tracer and meter). */
export const SCOPE = 'nestjs-pg-queue';

/** `error.type`: the error's class name, as the conventions ask; `_OTHER` when there is none. */
export function errorType(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== 'Error' ? error.name : error.constructor?.name || 'Error';
  return '_OTHER';
}
