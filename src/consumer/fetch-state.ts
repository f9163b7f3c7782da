import type { Pool } from 'pg';
import type { Readiness } from '../direct-start/readiness.js';
import type { OutageSignal } from '../outage/outage-reporter.js';
import type { Acker } from './acker.js';
import type { ClaimCapacity, Worker } from './worker.js';

export interface FetcherContext {
  pool: Pool;
  schemaSql: string;
  schema: string;
  queue: string;
  pollIntervalMs: number;
  worker: Worker;
  /** The current worker id (it changes when the lease is renewed). */
  workerId: () => string;
  /** The orphan timeout: claims are fenced on a heartbeat at most this old (see claim-jobs). */
  leaseMs: number;
  /** Acks not landed yet (still ours, not to be reconciled), which a claim may carry. */
  acker: Acker;
  /** Names a prepared statement after the table's size (see PlanSizeClass). */
  statementName: (base: string) => string | undefined;
  /** Where an unreachable database is reported (one warning per outage, not one per retry). */
  outage?: OutageSignal;
  /** This worker's advertisement to pushes of other processes (absent: `directStart: false`). */
  readiness?: Readiness;
}

/**
 * A claim in flight, or a direct start (a lane of one): the slots it may fill (`limit`, of
 * `names`) and the acks of this queue it carries (0 once they landed).
 */
export interface Lane extends ClaimCapacity {
  carried: number;
}

/**
 * Claims in flight at once, at most, when the worker holds no jobs (`prefetch: 0`). A claim asks
 * for every free slot; a second one starts when slots free up while the first is still in flight
 * (handlers that finish at different times), so the database need not wait for that claim to
 * land before refilling them. Splitting the slots between two claims on purpose was measured and
 * rejected: smaller batches cost more per job, and with two worker processes the burn-down fell
 * from ~15,000 to ~10,500 jobs/s.
 *
 * A worker that holds jobs (`prefetch` 'auto' or a number) claims one at a time: its held jobs
 * start while the claim is on its way, so a second lane buys nothing, and with more processes
 * than cores it costs: 4 processes on 2 cores drained 46,000-50,000 jobs/s with one lane against
 * 39,000-43,000 with two (41-48 against 45-55 µs of machine CPU per job), with one process
 * within the noise (`PGQ_LANES`-patched runs of `node bench/run.mjs --only=nestjs-pg-queue,raw-sql-1x32 --procs=1,2,4`, 4 December).
 */
export const MAX_LANES_UNHELD = 2;

/**
 * Where a queue's fetcher stands, shared with the parts that take jobs beside its claims (direct
 * starts and hand-offs: direct-starts.ts) and that recover from failures
 * (fetch-recovery.ts). The fetcher drives the states: stopped (initial) -> started -> stopped;
 * while started, `retrying` and `reconciling` each pause claiming.
 */
export class FetchState {
  started = false;
  /** Claims and direct starts in flight. */
  readonly lanes = new Set<Lane>();
  /** The queue may hold due jobs we have not claimed (set by every wake, cleared by a short claim). */
  mayHaveMore = true;
  /** Rows marked running under our id may not be held by us: check them before the next claim. */
  reconcileWanted = true;
  reconciling = false;
  /**
   * Set while a failed claim or reconciliation waits for its retry (set, cleared and stopped by
   * FetchRecovery, which owns it).
   */
  retryTimer: NodeJS.Timeout | null = null;

  get retrying(): boolean {
    return this.retryTimer !== null;
  }

  /** Claims may start now (none may be wanted: see `mayHaveMore`). */
  get claiming(): boolean {
    return this.started && !this.retrying && !this.reconciling;
  }

  /**
   * Nothing a claim could find is known to be waiting: started, no retry or reconciliation under
   * way or wanted, no wake since the last claim came back short, and nothing in flight.
   */
  get idle(): boolean {
    return this.claiming && !this.reconcileWanted && !this.mayHaveMore && this.lanes.size === 0;
  }
}
