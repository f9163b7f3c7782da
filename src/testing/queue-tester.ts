import { Inject, Injectable, type Type } from '@nestjs/common';
import type { PushOptions } from '../job.interfaces.js';
import type { ValidatedJob } from '../encoding/validated-job.js';
import { DuplicateJobIdError, IdempotencyConflictError } from '../errors.js';
import { nextJobId } from '../producer/job-id.js';
import { AssertionError, describeMismatch, jobMatches, type JobMatcher } from './assertion-error.js';
import { runAttempt } from './attempt-runner.js';
import { HandlerCatalog } from './handler-catalog.js';
import type { DrainSummary, RecordedJob } from './recorded-job.js';
import type { JobRecorder } from './testing-sink.js';
import { QUEUE_TESTING_OPTIONS, type ResolvedTestingOptions } from './testing-options.js';

/** A drain that keeps finding work after this many attempts is a loop (a handler pushing itself). */
const MAX_DRAIN_ATTEMPTS = 10_000;

/**
 * What a test talks to: the jobs the app pushed, assertions on them, and running them. Holds only
 * memory (no timers, no sockets), so closing the app leaves nothing behind.
 */
@Injectable()
export class QueueTester implements JobRecorder {
  private readonly jobs: RecordedJob[] = [];

  constructor(
    @Inject(QUEUE_TESTING_OPTIONS) private readonly options: ResolvedTestingOptions,
    private readonly catalog: HandlerCatalog,
  ) {}

  schemaFor(queue: string, name: string) {
    this.catalog.load(this.options.queues);
    return this.catalog.schema(queue, name);
  }

  /** Called by the sinks after validation; inline mode runs each job before the push resolves. */
  async record(queue: string, validated: ValidatedJob[], options: PushOptions[]): Promise<string[]> {
    this.catalog.load(this.options.queues);
    const recorded = validated.map((v, i) => this.toRecord(queue, v, options[i]));
    this.checkUnique(queue, recorded);
    this.jobs.push(...recorded);
    // A handler's failure is the job's failed attempt, not the push's: the push did succeed.
    if (this.options.mode === 'inline') for (const job of recorded) await this.attempt(job);
    return recorded.map((j) => j.id);
  }

  /** Recorded jobs, oldest first; of one queue when given. */
  enqueued(queue?: string): RecordedJob[] {
    return this.jobs.filter((j) => queue === undefined || j.queue === queue);
  }

  /** @throws AssertionError listing what was enqueued when no job matches. Returns the first match. */
  expectEnqueued(m: JobMatcher): RecordedJob {
    const found = this.jobs.find((j) => jobMatches(j, m));
    if (!found) throw new AssertionError(describeMismatch('Expected a matching job to be enqueued, found none.', m, this.jobs));
    return found;
  }

  /** @throws AssertionError when a job matches. */
  expectNotEnqueued(m: JobMatcher): void {
    const found = this.jobs.filter((j) => jobMatches(j, m));
    if (found.length > 0) throw new AssertionError(describeMismatch(`Expected no matching job, found ${found.length}.`, m, found));
  }

  /**
   * Runs `processor`'s handler of `name` once, outside any recorded job, and returns its result.
   * The payload goes through JSON and the handler's schema first, as a pushed job's would.
   * @throws the handler's error (or a JobSnooze it returned is given back as the result).
   */
  async perform<R = unknown>(processor: Type, name: string, data: unknown, opts: { attempt?: number; maxAttempts?: number } = {}): Promise<R> {
    this.catalog.load(this.options.queues);
    const handler = this.catalog.handlerOf(processor, name);
    const attempt = opts.attempt ?? 1;
    const outcome = await runAttempt(handler, {
      id: nextJobId(),
      queue: handler.queue,
      name,
      data: data === undefined ? null : JSON.parse(JSON.stringify(data)),
      attempt,
      maxAttempts: opts.maxAttempts ?? Math.max(attempt, handler.maxAttempts ?? this.options.maxAttempts),
      priority: 0,
      createdAt: new Date(),
      metadata: {},
      idempotencyKey: null,
      onProgress: () => undefined,
    });
    if (outcome.kind === 'failed') throw outcome.error;
    return (outcome.kind === 'done' ? outcome.result : { snoozed: outcome.delayMs }) as R;
  }

  /**
   * Runs pending jobs (of `queue`, else all) until none is left: jobs pushed meanwhile, retries up
   * to maxAttempts and snoozed jobs included; delays (runAt, delayMs, backoff, snooze) are ignored.
   * Jobs with no handler in the app stay pending, as they would in the database.
   */
  async drain(opts: { queue?: string } = {}): Promise<DrainSummary> {
    this.catalog.load(this.options.queues);
    const summary: DrainSummary = { completed: 0, failed: 0, killed: 0 };
    for (let n = 0; ; n++) {
      const next = this.jobs.find((j) => (j.status === 'pending' || j.status === 'retrying') && (opts.queue === undefined || j.queue === opts.queue) && this.catalog.handler(j.queue, j.name));
      if (!next) return summary;
      if (n >= MAX_DRAIN_ATTEMPTS) throw new Error(`drain gave up after ${MAX_DRAIN_ATTEMPTS} attempts: do handlers keep pushing or snoozing jobs?`);
      const status = await this.attempt(next);
      if (status === 'done') summary.completed++;
      else if (status === 'retrying') summary.failed++;
      else if (status === 'killed') summary.killed++;
    }
  }

  /** Forgets every recorded job (call between tests that share an app). */
  clear(): void {
    this.jobs.length = 0;
  }

  /** One attempt of a recorded job; returns its new status. No handler: it stays pending. */
  private async attempt(job: RecordedJob): Promise<RecordedJob['status']> {
    const handler = this.catalog.handler(job.queue, job.name);
    if (!handler) return job.status;
    job.maxAttempts = job.options.maxAttempts ?? handler.maxAttempts ?? this.options.queues.get(job.queue)?.maxAttempts ?? this.options.maxAttempts;
    job.status = 'running';
    const outcome = await runAttempt(handler, { ...job, attempt: job.attempts + 1, onProgress: (v) => job.progress.push(v) });
    if (outcome.kind === 'snoozed') {
      job.status = 'pending';
      return 'pending';
    }
    job.attempts++;
    if (outcome.kind === 'done') {
      job.result = outcome.result;
      job.error = null;
      job.status = 'done';
    } else {
      job.error = outcome.error;
      job.errors.push(outcome.error);
      job.status = outcome.unrecoverable || job.attempts >= job.maxAttempts ? 'killed' : 'retrying';
    }
    return job.status;
  }

  private toRecord(queue: string, v: ValidatedJob, options: PushOptions): RecordedJob {
    const { queryRunner: _q, manager: _m, client: _c, ...rest } = options;
    return {
      id: v.id ?? nextJobId(),
      queue,
      name: v.name,
      data: JSON.parse(v.payload),
      options: rest,
      status: 'pending',
      attempts: 0,
      maxAttempts: v.maxAttempts ?? this.options.maxAttempts,
      priority: v.priority,
      metadata: JSON.parse(v.metadata),
      idempotencyKey: v.idempotencyKey,
      createdAt: new Date(),
      result: null,
      error: null,
      errors: [],
      progress: [],
    };
  }

  /** The table's unique constraints: a taken id or idempotency key fails the push, as in the database. */
  private checkUnique(queue: string, batch: RecordedJob[]): void {
    const all = [...this.jobs];
    for (const j of batch) {
      if (all.some((o) => o.id === j.id)) throw new DuplicateJobIdError(j.id);
      if (j.idempotencyKey !== null && all.some((o) => o.queue === queue && o.idempotencyKey === j.idempotencyKey)) {
        throw new IdempotencyConflictError(queue, j.idempotencyKey);
      }
      all.push(j);
    }
  }
}
