import type { Logger } from '@nestjs/common';
import type { ClaimedRow } from '../db/sql/claim-jobs.js';
import { JobPayloadError, JobTimeoutError } from '../errors.js';
import type { QueueEvents } from '../events/queue-events.js';
import type { AttemptTransactions } from '../handler-transactions/attempt-transactions.js';
import type { ResolvedQueueConfig } from '../queue.options.js';
import type { QueueTelemetry } from '../telemetry/telemetry-port.js';
import { checkPayload, issuesText } from '../typing/payload-check.js';
import type { Ack } from './acker.js';
import { abortJob, closeTransaction, type ActiveJob } from './active-job.js';
import { buildJob } from './attempt-job.js';
import { ackFor, type AttemptOutcome } from './attempt-outcome.js';
import type { HandlerDefinition } from './handler-definition.js';
import type { ProgressWriter } from './progress-writer.js';

/** What an attempt needs of the worker whose slot it runs in. */
export interface AttemptHost {
  /** Takes the job out of the running set (freeing its slot); false when it was already settled. */
  settle(entry: ActiveJob, ended?: 'cancelled' | 'released'): boolean;
  /** Queues the attempt's ack. */
  ack(ack: Ack): void;
  /** An attempt ended after `durationMs` (it sizes `prefetch: 'auto'`). */
  finished(durationMs: number): void;
}

/**
 * One attempt of a claimed job, from its slot to its ack: the payload check, the handler's
 * transaction, its telemetry scope, `timeoutMs`, the handler call, and the outcome turned into an
 * ack (written in the handler's transaction when it has one). The worker owns the slots and the
 * running set; an attempt leaves them through `host.settle` exactly once (`entry.settled`).
 */
export class AttemptRunner {
  constructor(
    private readonly queue: ResolvedQueueConfig,
    private readonly host: AttemptHost,
    private readonly logger: Logger,
    private readonly progress?: ProgressWriter,
    private readonly events?: QueueEvents,
    private readonly telemetry?: QueueTelemetry,
    private readonly transactions?: AttemptTransactions | null,
  ) {}

  /** A job reported progress (one function for every attempt: a closure per job was garbage per job). */
  private readonly progressed = (entry: ActiveJob, value: unknown): void => {
    this.progress?.changed(entry);
    if (this.events?.wants('progress')) this.events.emit({ event: 'progress', job: { id: entry.id, queue: this.queue.name, name: entry.name, attempt: entry.attempt }, progress: value });
  };

  /**
   * Runs `row`'s attempt in the slot `entry` holds (registered by the worker), through to its ack.
   * Synchronous up to the handler's call when there is no payload check or transaction to wait
   * for: an async frame per attempt was the largest allocation left in a no-op job.
   */
  run(entry: ActiveJob, row: ClaimedRow, handler: HandlerDefinition): void {
    const maxAttempts = row.max_attempts ?? handler.maxAttempts ?? this.queue.maxAttempts;
    if (row.attempts > maxAttempts) {
      // A job whose previous attempt was lost with its worker, past its last attempt.
      this.finish(entry, handler, maxAttempts, { error: new Error(`attempts exhausted (${maxAttempts}); the last attempt was lost with its worker`) });
      return;
    }
    // Started before the payload check, so an attempt the schema refuses has its span and wait time too.
    const scope = this.telemetry?.attempt({ id: row.id, queue: this.queue.name, name: row.name, attempt: row.attempts, runAt: new Date(row.run_at), metadata: row.metadata });
    if (scope) entry.scope = scope;
    if (handler.schema || handler.transaction) void this.prepare(entry, row, handler, maxAttempts);
    else this.call(entry, row, handler, maxAttempts);
  }

  /** The payload check and the handler's transaction, then the call. */
  private async prepare(entry: ActiveJob, row: ClaimedRow, handler: HandlerDefinition, maxAttempts: number): Promise<void> {
    let claimed = row;
    if (handler.schema) {
      // A row written by older code (or by hand) may not match: fail it for good, without the handler.
      const checked = await checkPayload(handler.schema, row.payload);
      if (checked.issues) {
        this.finish(entry, handler, maxAttempts, { error: new JobPayloadError(row.id, row.name, checked.issues, issuesText(checked.issues)) });
        return;
      }
      claimed = { ...row, payload: checked.value };
    }
    if (handler.transaction) {
      try {
        const tx = await this.transactions!.open();
        // Settled while it opened (a lost lease, a shutdown): nothing may run in it.
        if (entry.settled) return tx.destroy();
        entry.tx = tx;
      } catch (error) {
        this.finish(entry, handler, maxAttempts, { error });
        return;
      }
    }
    this.call(entry, claimed, handler, maxAttempts);
  }

  /** Calls the handler; its outcome (a value, a promise, or a throw) finishes the attempt. */
  private call(entry: ActiveJob, row: ClaimedRow, handler: HandlerDefinition, maxAttempts: number): void {
    let returned: unknown;
    try {
      const job = buildJob(row, this.queue.name, maxAttempts, entry, this.progressed, handler.label);
      if (handler.timeoutMs !== undefined) {
        const timeoutMs = handler.timeoutMs;
        entry.timer = setTimeout(() => {
          const err = new JobTimeoutError(timeoutMs);
          abortJob(entry, err);
          // The handler still runs: its transaction is closed under it, never committed.
          closeTransaction(entry);
          this.finish(entry, handler, maxAttempts, { error: err });
        }, timeoutMs);
      }
      const scope = entry.scope;
      returned = scope ? scope.run(() => handler.callback(job)) : handler.callback(job);
    } catch (error) {
      this.finish(entry, handler, maxAttempts, { error });
      return;
    }
    // As `await` would: one microtask after the handler's promise settles (or after a plain value).
    Promise.resolve(returned).then(
      (result) => this.finish(entry, handler, maxAttempts, { result }),
      (error) => this.finish(entry, handler, maxAttempts, { error }),
    );
  }

  private finish(entry: ActiveJob, handler: HandlerDefinition, maxAttempts: number, outcome: AttemptOutcome): void {
    if (entry.settled) return;
    if (entry.cancelled) {
      this.host.settle(entry, 'cancelled');
      return;
    }
    const ctx = {
      queue: this.queue.name,
      maxAttempts,
      backoff: handler.backoff ?? this.queue.backoff,
      progress: entry.lastProgress,
      label: handler.label,
      logger: this.logger,
    };
    const ack = ackFor(entry, outcome, ctx);
    this.host.finished(ack.durationMs);
    if (entry.tx) {
      this.finishInTransaction(entry, entry.tx, ack, outcome, (error) => ackFor(entry, { error }, ctx));
      return;
    }
    if (entry.scope) {
      entry.scope.end(ack.status, ack.status === 'retrying' || ack.status === 'killed' ? (outcome.error ?? ack.error) : undefined);
      entry.scope = undefined;
    }
    // Leave `active` and queue the ack in one synchronous step (see the class invariant). The slot
    // is freed first so that a fetcher refilling it in this turn can carry the ack in its claim.
    this.host.settle(entry);
    this.host.ack(ack);
  }

  /**
   * The handler returned with its transaction open: the outcome is written in it (or, for a
   * failure, after rolling it back). The job keeps its slot until then; a cancel, a lost lease or
   * a shutdown arriving meanwhile no longer closes the transaction, whose fence decides.
   */
  private finishInTransaction(entry: ActiveJob, tx: NonNullable<ActiveJob['tx']>, ack: Ack, outcome: AttemptOutcome, failed: (error: unknown) => Ack): void {
    entry.tx = undefined;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = null;
    void this.transactions!.end(tx, ack, failed).then((left) => {
      const final = left ?? ack;
      if (entry.scope) {
        const failure = final.status === 'retrying' || final.status === 'killed';
        entry.scope.end(final.status, failure ? (left === ack ? (outcome.error ?? ack.error) : final.error) : undefined);
        entry.scope = undefined;
      }
      if (this.host.settle(entry) && left) this.host.ack(left);
    });
  }

}
