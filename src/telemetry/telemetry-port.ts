import type { Pool } from 'pg';

/**
 * What the queue tells a telemetry adapter (traces, metrics), and nothing more: the producer and
 * the consumer call these hooks only when the module's `telemetry` option is set, so an app
 * without it pays one property read per push and per attempt. The OpenTelemetry adapter is
 * `openTelemetry()` from 'nestjs-pg-queue/opentelemetry'; no part of the core imports it.
 */
export interface QueueTelemetry {
  /** A push is about to be written; null when the adapter has nothing to do for it. */
  pushing(push: PushInfo): PushScope | null;
  /** A handler is about to run an attempt; null when the adapter has nothing to do for it. */
  attempt(attempt: AttemptInfo): AttemptScope | null;
  /** An attempt's outcome was written (its ack landed, fenced): counted once, by the process that ran it. */
  landed(outcome: LandedOutcome): void;
  /** At application bootstrap, once (gauges that read the database start here). */
  start(context: TelemetryContext): void;
  /** At shutdown: remove every callback and timer started by `start`. */
  stop(): void;
}

export interface PushInfo {
  queue: string;
  /** Each job's name, in push order. */
  names: readonly string[];
  /** Written inside the caller's transaction (it may still roll back). */
  inTransaction: boolean;
}

export interface PushScope {
  /** The job's metadata (JSON text of an object) with what the adapter propagates added. */
  metadata(json: string): string;
  /** Runs the insert in the adapter's context (a span the driver's own instrumentation nests under). */
  run<T>(fn: () => T): T;
  /** The insert returned `ids`, or failed with `error`. Called once. */
  end(ids: readonly string[] | null, error?: unknown): void;
}

export interface AttemptInfo {
  id: string;
  queue: string;
  name: string;
  attempt: number;
  /** When the job became due: wait time is measured from here to the start. */
  runAt: Date;
  metadata: Record<string, unknown>;
}

/** How an attempt ended for this process. `released`: handed back unfinished (shutdown, lost lease). */
export type AttemptEndStatus = 'done' | 'retrying' | 'killed' | 'snoozed' | 'cancelled' | 'released';

export interface AttemptScope {
  /** Runs the handler in the adapter's context, so spans it starts nest under the attempt's. */
  run<T>(fn: () => T): T;
  /** Called once, when the outcome is decided (before its ack is written). */
  end(status: AttemptEndStatus, error?: unknown): void;
}

export interface LandedOutcome {
  queue: string;
  name: string;
  attempt: number;
  status: 'done' | 'retrying' | 'killed' | 'snoozed';
  durationMs: number;
}

export interface TelemetryContext {
  pool: Pool;
  /** The quoted schema name. */
  schemaSql: string;
  /** Every registered queue. */
  queues: readonly string[];
}

const HOOKS = ['pushing', 'attempt', 'landed', 'start', 'stop'] as const;

/** Whether `value` has every hook (the module option check). */
export function isQueueTelemetry(value: unknown): value is QueueTelemetry {
  return value !== null && typeof value === 'object' && HOOKS.every((h) => typeof (value as Record<string, unknown>)[h] === 'function');
}
