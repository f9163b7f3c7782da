// The systems the bench runs (bench/run.mjs), one entry per setting.
/** key: the system's own key; base: the key that holds its best figure. */
export const SYSTEMS = [
  { key: 'nestjs-pg-queue', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', txn: true },
  // Its high-throughput setting (queue option `prefetch`, as graphile-worker's localQueue); idle pickup and enqueue do not change with it.
  { key: 'nestjs-pg-queue-prefetch500', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { prefetch: 500 }, scenarios: ['burn', 'scale', 'large'] },
  // The pickup of a push from another process (or with `directStart: false`): INSERT, NOTIFY, claim. The default
  // setting starts a job pushed by the worker's own process directly (the pickup scenario pushes from the worker's process, for every system).
  { key: 'nestjs-pg-queue-notify', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { directStart: false }, scenarios: ['pickup'] },
  // The setting for a transaction-mode pooler (`preparedStatements: false`): every statement unnamed, planned on each run.
  { key: 'nestjs-pg-queue-unprepared', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { preparedStatements: false }, scenarios: ['burn', 'large', 'pickup', 'enqueue'], fullOnly: true },
  // A listener on every job event (QueueEvents.on): what the events cost a burn-down.
  { key: 'nestjs-pg-queue-events', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { events: true }, scenarios: ['burn'] },
  // openTelemetry() with an SDK registered (spans batched to a discarding exporter, metrics on): what tracing every push and attempt costs.
  { key: 'nestjs-pg-queue-otel', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { otel: true }, scenarios: ['burn'] },
  // @Process({ transaction: true }): a no-op handler in a transaction committed with its fenced ack (the cost of the transaction itself),
  // and a handler writing one row, through a pool of its own (autocommit, acks batched) or through job.client (exactly once).
  { key: 'nestjs-pg-queue-txn-noop', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { transaction: true }, scenarios: ['burn'] },
  { key: 'nestjs-pg-queue-write', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { effect: true }, scenarios: ['burn'] },
  { key: 'nestjs-pg-queue-write-txn', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { effect: true, transaction: true }, scenarios: ['burn'] },
  { key: 'graphile-worker-0.17', base: 'graphile-worker', module: 'graphile-worker', variant: { version: '0.17' } },
  { key: 'graphile-worker-0.16', base: 'graphile-worker', module: 'graphile-worker', variant: { version: '0.16' } },
  { key: 'pg-boss-batch32', base: 'pg-boss', module: 'pg-boss', variant: { batchSize: 32 } },
  // Not equal concurrency (up to 1,000 jobs in flight), but pg-boss 10's way to go fast: see latest.md.
  { key: 'pg-boss-batch1000', base: 'pg-boss', module: 'pg-boss', variant: { batchSize: 1000 }, scenarios: ['burn', 'large'], fullOnly: true },
  { key: 'bullmq-redis', base: 'bullmq-redis', module: 'bullmq', variant: { backend: 'redis' }, redis: true, noLarge: 'Redis, no SQL table to fill' },
  { key: 'bullmq-pg', base: 'bullmq-pg', module: 'bullmq', variant: { backend: 'pg' }, noLarge: 'not done: its tables were not mapped for a direct INSERT' },
  { key: 'raw-sql-1x32', base: 'raw-sql', module: 'raw-sql', variant: { claimers: 1 } },
  { key: 'raw-sql-2x16', base: 'raw-sql', module: 'raw-sql', variant: { claimers: 2 }, scenarios: ['burn', 'scale', 'large'], fullOnly: true },
];
