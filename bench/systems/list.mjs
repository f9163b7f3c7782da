// The systems the bench runs (bench/run.mjs), one entry per setting.
/** A peer's system module, in bench/peers/systems (its bare imports resolve in bench/peers/node_modules). */
const peer = (name) => new URL(`../peers/systems/${name}.mjs`, import.meta.url).href;

/** key: the system's own key; base: the key that holds its best figure; node: the Node major its children run on
 * (default this process's); modulePath: its module's URL when not bench/systems/<module>.mjs; fullOnly: not in --quick;
 * optIn: only when named in --only (figures of earlier issues, kept runnable: the transactional handlers, preparedStatements). */
export const SYSTEMS = [
  // The default: no tuning option set (prefetch 'auto').
  { key: 'nestjs-pg-queue', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', txn: true },
  // The explicit settings: a fixed prefetch of 500 (as graphile-worker's localQueue), and none at all (prefetch 0, the default
  // before 'auto': claim only what can start now). Idle pickup and enqueue do not change with them.
  { key: 'nestjs-pg-queue-prefetch500', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { prefetch: 500 }, scenarios: ['burn', 'scale', 'large'], fullOnly: true },
  { key: 'nestjs-pg-queue-prefetch0', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { prefetch: 0 }, scenarios: ['burn', 'scale'], fullOnly: true },
  // `directStart: false`: every push is INSERT, NOTIFY, claim. The default starts a job pushed by the worker's own process
  // directly (the pickup scenario pushes from the worker's process, for every system) and hands one pushed by another process
  // to an idle worker in the NOTIFY (the remote scenario).
  { key: 'nestjs-pg-queue-notify', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { directStart: false }, scenarios: ['pickup', 'remote', 'enqueue'] },
  // The setting for a transaction-mode pooler (`preparedStatements: false`): every statement unnamed, planned on each run.
  { key: 'nestjs-pg-queue-unprepared', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { preparedStatements: false }, scenarios: ['burn', 'large', 'pickup', 'enqueue'], optIn: true },
  // A listener on every job event (QueueEvents.on): what the events cost a burn-down.
  { key: 'nestjs-pg-queue-events', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { events: true }, scenarios: ['burn'], fullOnly: true },
  // openTelemetry() with an SDK registered (spans batched to a discarding exporter, metrics on): what tracing every push and attempt costs.
  { key: 'nestjs-pg-queue-otel', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { otel: true }, scenarios: ['burn'], fullOnly: true },
  // The cost of the other features on the burn-down (the "Feature costs" table, bench/lib/report-features.mjs): a zod payload
  // schema (defineJob), pauses (of other queues, and a queues row for this one), cancels during the run, an every-second
  // cron schedule, retention pruning during the run, and all of them (events and OpenTelemetry too) at once.
  { key: 'nestjs-pg-queue-schema', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { schema: true }, scenarios: ['burn'], fullOnly: true },
  { key: 'nestjs-pg-queue-pauses', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { pauses: true }, scenarios: ['burn'], fullOnly: true },
  { key: 'nestjs-pg-queue-cancels', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { cancels: true }, scenarios: ['burn'], fullOnly: true },
  { key: 'nestjs-pg-queue-cron', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { cron: true }, scenarios: ['burn'], fullOnly: true },
  { key: 'nestjs-pg-queue-retention', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { retention: true }, scenarios: ['burn'], fullOnly: true },
  { key: 'nestjs-pg-queue-all-features', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { all: true }, scenarios: ['burn'], fullOnly: true },
  // The memory baseline: a bare Nest application context with a pg.Pool (max 10) running 20,000 `SELECT 1`s over 32 callers
  // as the burn-down's "jobs"; only its peak RSS is reported (the Memory table), not in the throughput tables.
  { key: 'bare-nest-pg', base: 'bare-nest-pg', module: 'bare-nest', scenarios: ['burn'], baseline: true },
  // @Process({ transaction: true }): a no-op handler in a transaction committed with its fenced ack (the cost of the transaction itself),
  // and a handler writing one row, through a pool of its own (autocommit, acks batched) or through job.client (exactly once).
  { key: 'nestjs-pg-queue-txn-noop', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { transaction: true }, scenarios: ['burn'], optIn: true },
  { key: 'nestjs-pg-queue-write', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { effect: true }, scenarios: ['burn'], optIn: true },
  { key: 'nestjs-pg-queue-write-txn', base: 'nestjs-pg-queue', module: 'nestjs-pg-queue', variant: { effect: true, transaction: true }, scenarios: ['burn'], optIn: true },
  // This project on Node 24 (the peers' Node): a row of its own (base of its own, so it never becomes our headline figure).
  { key: 'nestjs-pg-queue-node24', base: 'nestjs-pg-queue-node24', module: 'nestjs-pg-queue', node: 24, scenarios: ['burn', 'pickup', 'remote', 'enqueue'] },
  // The peers at their current versions, from bench/peers (its own package.json and lockfile), on Node 24 (pg-boss 12 and
  // graphile-worker 0.18 require Node >= 22); settings and links in each module.
  { key: 'graphile-worker', base: 'graphile-worker', modulePath: peer('graphile-worker'), node: 24 },
  { key: 'pg-boss-batch32', base: 'pg-boss', modulePath: peer('pg-boss'), node: 24, variant: { batchSize: 32 } },
  // Not equal concurrency (up to 1,000 jobs in flight), but pg-boss's way to go fast: with pg-boss 12 it still drains several
  // times batches of 32 (fetch and completion are one statement per batch, whatever its size).
  { key: 'pg-boss-batch1000', base: 'pg-boss', modulePath: peer('pg-boss'), node: 24, variant: { batchSize: 1000 }, scenarios: ['burn', 'large'], fullOnly: true },
  { key: 'bullmq-redis', base: 'bullmq-redis', modulePath: peer('bullmq'), node: 24, variant: { backend: 'redis' }, redis: true, noLarge: 'Redis, no SQL table to fill' },
  { key: 'bullmq-pg', base: 'bullmq-pg', modulePath: peer('bullmq'), node: 24, variant: { backend: 'pg' }, noLarge: 'not done: its tables were not mapped for a direct INSERT' },
  { key: 'raw-sql-1x32', base: 'raw-sql', module: 'raw-sql', variant: { claimers: 1 } },
  { key: 'raw-sql-2x16', base: 'raw-sql', module: 'raw-sql', variant: { claimers: 2 }, scenarios: ['burn', 'scale', 'large'], fullOnly: true },
];
