export { QueueModule, type QueueModuleAsyncOptions } from './queue.module.js';
export type { QueueModuleOptions, QueueConfig } from './queue.options.js';
export type { BackoffOptions } from './backoff.js';
export type { BootRetryOptions } from './db/boot-retry.js';
export { Processor, type ProcessorOptions } from './decorators/processor.decorator.js';
export { Process, type ProcessOptions } from './decorators/process.decorator.js';
export { InjectSink } from './decorators/inject-sink.decorator.js';
export { getSinkToken } from './queue.tokens.js';
export { QueueSink } from './producer/queue-sink.js';
export { QueueRegistry } from './producer/queue-registry.js';
export { QueueAdmin, type QueueCounts, type QueueStats } from './admin/queue-admin.js';
export type { JobFilter } from './admin/job-filter.js';
export type { BulkResult, CancelOutcome, DeleteOutcome, ListPage, OperationResult, PromoteOutcome, RetryOutcome } from './admin/job-operations.js';
export type { PauseState } from './admin/queue-pauses.js';
export { NotifyBus, type NotifyListener, type ReconnectListener } from './notify/notify-bus.js';
export { QueueOrchestrator } from './queue.orchestrator.js';
export { RetentionService } from './retention/retention.service.js';
export { Cron } from './schedules/cron.decorator.js';
export { OnJobEvent } from './events/on-job-event.decorator.js';
export { QueueEvents } from './events/queue-events.js';
export { JOB_EVENTS, type JobEvent, type JobEventListener, type JobEventName } from './events/job-event.js';
export { QueueSchedules } from './schedules/queue-schedules.js';
export type { ScheduleRecord } from './schedules/schedule-operations.js';
export type { CatchUp, ScheduleConfig, ScheduleOptions } from './schedules/schedule-definition.js';
export type { RetentionOptions } from './retention/retention.options.js';
export { Migrator, loadMigrations, MIGRATIONS_DIR } from './db/migrator.js';
export { JobSnooze } from './job-snooze.js';
export type { Job, JobAttemptError, JobRecord, JobStatus, JobToPush, PushOptions, TransactionOptions, TransactionalJob } from './job.interfaces.js';
export type { TypeOrmDataSourceLike } from './handler-transactions/typeorm-transactions.js';
export {
  QueueError,
  InvalidJobError,
  IdempotencyConflictError,
  DuplicateJobIdError,
  InvalidQueueOptionsError,
  SchemaNotReadyError,
  ProcessorDefinitionError,
  JobTimeoutError,
  ResultNotSerializableError,
  PreparedStatementsError,
  UnsupportedServerError,
  UnknownQueueError,
  DatabaseUnavailableError,
  JobCancelledError,
  JobRunningError,
  UnrecoverableError,
  JobWaitTimeoutError,
  JobPayloadError,
  TransactionCommitError,
  NoEntityManagerError,
  type DatabaseTarget,
} from './errors.js';
export type {
  AttemptEndStatus,
  AttemptInfo,
  AttemptScope,
  LandedOutcome,
  PushInfo,
  PushScope,
  QueueTelemetry,
  TelemetryContext,
} from './telemetry/telemetry-port.js';
export type { AmbientTransactions } from './producer/ambient-transaction.js';
export { defineJob, type JobDefinition, type JobInput, type JobOutput } from './typing/job-definition.js';
export type { StandardSchemaV1 } from './typing/standard-schema.js';
export type { PayloadIssue } from './typing/payload-check.js';
