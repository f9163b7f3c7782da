import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { pruneJobsSql } from '../db/sql/prune.js';
import type { OutageSignal } from '../outage/outage-reporter.js';
import { FINISHED_STATUSES, type FinishedStatus, type ResolvedRetention } from './retention.options.js';

/** One DELETE removes at most this many rows: its locks and WAL stay small, and claims never wait behind it. */
export const PRUNE_BATCH = 1000;
/**
 * The pause between two batches of one round: four times what the batch took (at least 50 ms),
 * so pruning a big backlog takes at most a fifth of one connection's time and leaves the claims
 * the rest.
 */
export const PRUNE_PAUSE_MS = 50;
export const PRUNE_PAUSE_FACTOR = 4;

interface PruneGroup {
  status: FinishedStatus;
  ms: number;
  queues: string[];
}

/** Queues that keep a status for the same time, pruned by one statement. */
export function pruneGroups(retention: Map<string, ResolvedRetention>): PruneGroup[] {
  const groups = new Map<string, PruneGroup>();
  for (const [queue, r] of retention) {
    for (const status of FINISHED_STATUSES) {
      const ms = r[status];
      if (ms === false) continue;
      const key = `${status}:${ms}`;
      const g = groups.get(key) ?? { status, ms, queues: [] };
      g.queues.push(queue);
      groups.set(key, g);
    }
  }
  return [...groups.values()];
}

/**
 * Deletes finished jobs past their retention, every `intervalMs`, in batches of PRUNE_BATCH with
 * a pause between them (see PRUNE_PAUSE_FACTOR), until a batch comes back short. Any number of processes run one;
 * the prune lock lets one of them work at a time (the others' batches delete nothing and their
 * round ends). A pruned job's idempotency key is free again.
 * States: idle -> running (a timer; a round at a time) -> stopped; stop() ends a round between batches.
 */
export class Pruner {
  private readonly logger = new Logger('QueuePruner');
  private readonly sql: string;
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private pause: { timer: NodeJS.Timeout; resolve: () => void } | null = null;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    private readonly schema: string,
    private readonly groups: PruneGroup[],
    private readonly intervalMs: number,
    /** Where an unreachable database is reported (once per outage, not once per round). */
    private readonly outage?: OutageSignal,
  ) {
    this.sql = pruneJobsSql(schemaSql);
  }

  start(): void {
    if (this.timer || this.groups.length === 0) return;
    this.timer = setInterval(() => void this.pruneNow(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.pause) {
      clearTimeout(this.pause.timer);
      this.pause.resolve();
    }
    await this.round;
  }

  /** Runs one round now, or joins the one under way; resolves to the rows it deleted. */
  pruneNow(): Promise<void> {
    this.round ??= this.prune().finally(() => (this.round = null));
    return this.round;
  }

  private async prune(): Promise<void> {
    let total = 0;
    try {
      for (const g of this.groups) {
        for (;;) {
          if (this.stopped) return;
          const began = performance.now();
          const sentAt = Date.now();
          const { rows } = await this.pool.query<{ deleted: number; locked: boolean }>(this.sql, [g.status, g.ms, g.queues, PRUNE_BATCH, this.schema]);
          this.outage?.succeeded('pruning', sentAt);
          const pauseMs = Math.max(PRUNE_PAUSE_MS, PRUNE_PAUSE_FACTOR * (performance.now() - began));
          if (rows[0].locked) return; // another process is pruning
          total += rows[0].deleted;
          if (rows[0].deleted < PRUNE_BATCH) break;
          await new Promise<void>((resolve) => (this.pause = { timer: setTimeout(resolve, pauseMs), resolve }));
          this.pause = null;
        }
      }
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (!this.outage?.failed('pruning', err, `pruning: database unavailable (${message}); finished jobs are kept until it is back`)) {
        this.logger.warn(`pruning stopped for this round: ${message}`);
      }
    } finally {
      if (total > 0) this.logger.log(`pruned ${total} finished job(s) past their retention`);
    }
  }
}
