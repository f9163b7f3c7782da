import type { ClaimedRow } from '../db/sql/claim-jobs.js';
import type { AttemptScope } from '../telemetry/telemetry-port.js';
import type { HandlerTransaction } from '../handler-transactions/handler-transaction.js';

/** A job whose handler is running in a slot of this process. */
export interface ActiveJob {
  id: string;
  name: string;
  attempt: number;
  lockedBy: string;
  /**
   * Created on first use of `job.signal`: most handlers never read it, and an AbortController per
   * job was the largest CPU cost of a no-op job. `abortReason` holds an abort that came first.
   */
  controller: AbortController | null;
  abortReason?: { reason: unknown };
  timer: NodeJS.Timeout | null;
  /** Set once the attempt's outcome is decided (ack queued or job released); later outcomes are ignored. */
  settled: boolean;
  /** An operator cancelled the job: its row says so already, so its outcome is not acked. */
  cancelled?: boolean;
  /** The last `job.progress()` value, as JSON text (written by ProgressWriter and with the ack). */
  lastProgress: string | null;
  /** performance.now() when the handler was called. */
  startedAt: number;
  /** The attempt's telemetry (a span), when the module has a telemetry adapter; ended once. */
  scope?: AttemptScope;
  /** The attempt's open transaction (a `{ transaction: true }` handler), until it is ended. */
  tx?: HandlerTransaction;
}

export function newActiveJob(row: ClaimedRow, lockedBy: string): ActiveJob {
  return { id: row.id, name: row.name, attempt: row.attempts, lockedBy, controller: null, timer: null, settled: false, lastProgress: null, startedAt: performance.now() };
}

export function signalOf(entry: ActiveJob): AbortSignal {
  if (!entry.controller) {
    entry.controller = new AbortController();
    if (entry.abortReason) entry.controller.abort(entry.abortReason.reason);
  }
  return entry.controller.signal;
}

/** Closes the attempt's open transaction unused, if it has one (the server rolls it back). */
export function closeTransaction(entry: ActiveJob): void {
  entry.tx?.destroy();
  entry.tx = undefined;
}

export function abortJob(entry: ActiveJob, reason: unknown): void {
  if (entry.controller) entry.controller.abort(reason);
  else entry.abortReason ??= { reason };
}
