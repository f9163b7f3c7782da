import type { TestingMode } from './recorded-job.js';

export interface QueueTestingModuleOptions {
  /** The queues to provide sinks for, as `QueueModule.forRoot({ queues })` takes them. */
  queues: ReadonlyArray<string | { name: string; maxAttempts?: number }>;
  /** Default `inline`. */
  mode?: TestingMode;
  /** Attempts for jobs whose push, handler and queue give none. Default 25, as QueueModule's. */
  maxAttempts?: number;
  /** Default 1 MiB, as QueueModule's. */
  maxPayloadBytes?: number;
}

export interface ResolvedTestingOptions {
  queues: Map<string, { maxAttempts?: number }>;
  mode: TestingMode;
  maxAttempts: number;
  maxPayloadBytes: number;
}

export const QUEUE_TESTING_OPTIONS = Symbol('nestjs-pg-queue:testing-options');

export function resolveTestingOptions(o: QueueTestingModuleOptions): ResolvedTestingOptions {
  if (!o || !Array.isArray(o.queues)) throw new Error('QueueTestingModule.forRoot: "queues" must be an array of names or { name }');
  const queues = new Map<string, { maxAttempts?: number }>();
  for (const q of o.queues) {
    const name = typeof q === 'string' ? q : q?.name;
    if (typeof name !== 'string' || name.length === 0) throw new Error('QueueTestingModule.forRoot: each queue needs a non-empty name');
    queues.set(name, typeof q === 'string' ? {} : { maxAttempts: q.maxAttempts });
  }
  const mode = o.mode ?? 'inline';
  if (mode !== 'inline' && mode !== 'manual') throw new Error(`QueueTestingModule.forRoot: mode must be "inline" or "manual", got ${JSON.stringify(mode)}`);
  return { queues, mode, maxAttempts: o.maxAttempts ?? 25, maxPayloadBytes: o.maxPayloadBytes ?? 1024 * 1024 };
}
