import { Injectable } from '@nestjs/common';
import type { ClaimedRow } from '../db/sql/claim-jobs.js';

/**
 * Inserts one job already claimed by worker `lockedBy`, fenced on its heartbeat being at most
 * `leaseMs` old; resolves to the row as a claim would have returned it, or null when the fence
 * stopped it (nothing was inserted).
 */
export type StartedJobInsert = (lockedBy: string, leaseMs: number) => Promise<ClaimedRow | null>;

/** The consumer side of a direct start, as a sink sees it (implemented by the queue's Fetcher). */
export interface DirectStarter {
  /**
   * Runs `insert` as this process's claim of one job named `name` and starts the job when it
   * lands; resolves to what `insert` resolved to. Null, with nothing done, when the worker cannot take the
   * job at once (no free slot, a claim in flight, jobs possibly waiting, stopping): the sink then
   * inserts it `pending` as usual.
   */
  startDirect(name: string, insert: StartedJobInsert): Promise<ClaimedRow | null> | null;
  /** The worker id this process's worker for the queue claims under now. */
  workerId(): string;
}

/**
 * Where the sinks of this module find the running workers of this process, by queue. The
 * orchestrator registers a queue's fetcher when it starts and removes it when shutdown begins.
 */
@Injectable()
export class LocalWorkers {
  private readonly starters = new Map<string, DirectStarter>();

  /** Registers the starter of `queue`; returns its removal. */
  register(queue: string, starter: DirectStarter): () => void {
    this.starters.set(queue, starter);
    return () => {
      if (this.starters.get(queue) === starter) this.starters.delete(queue);
    };
  }

  get(queue: string): DirectStarter | undefined {
    return this.starters.get(queue);
  }
}
