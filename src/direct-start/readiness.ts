import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { advertiseReadySql, withdrawReadySql } from '../db/sql/ready-workers.js';
import type { ListenerBackend } from '../notify/notify-bus.js';

export interface ReadinessContext {
  pool: Pool;
  schemaSql: string;
  queue: string;
  /** The current worker id and its lease hash (both change when the lease is renewed). */
  identity: () => { workerId: string; leaseHash: string };
  /** Where a hand-off's NOTIFY is sure to reach us; null while there is no such connection. */
  listener: () => ListenerBackend | null;
}

/**
 * This worker's advertisement, for one queue, that it can start a pushed job at once: a row of
 * `ready_workers` that a push from any process takes to hand the job over (insertHandedJobSql).
 * The row is one-shot: the push that takes it deletes it, and the fetcher advertises again once
 * the handed job has started and the worker is still idle.
 *
 * States: off (initial; no row we know of) -> advertising (the INSERT in flight) -> advertised
 * -> off (taken by a push; withdrawn, the worker having filled up; or reset: the LISTEN
 * connection or the worker id changed, so the row names a backend or an id no hand-off may use)
 * ...; any -> stopped (every row withdrawn). `epoch` is bumped by every withdrawal and reset, so
 * an INSERT that lands after one does not count as advertised.
 */
export class Readiness {
  private readonly logger: Logger;
  private state: 'off' | 'advertising' | 'advertised' | 'stopped' = 'off';
  private epoch = 0;
  private chain: Promise<void> = Promise.resolve();
  /** Ids we have advertised under: each must be withdrawn at stop (a reset leaves its row behind). */
  private readonly advertisedIds = new Set<string>();
  private readonly advertiseText: string;
  private readonly withdrawText: string;

  constructor(private readonly ctx: ReadinessContext) {
    this.logger = new Logger(`QueueReadiness:${ctx.queue}`);
    this.advertiseText = advertiseReadySql(ctx.schemaSql);
    this.withdrawText = withdrawReadySql(ctx.schemaSql);
  }

  /** The worker is idle and its queue was found empty: let pushes hand it a job (a no-op if it already may). */
  advertise(): void {
    if (this.state !== 'off') return;
    const listener = this.ctx.listener();
    if (!listener) return;
    const { workerId, leaseHash } = this.ctx.identity();
    const epoch = this.epoch;
    this.state = 'advertising';
    this.advertisedIds.add(workerId);
    this.then(async () => {
      try {
        const r = await this.ctx.pool.query(this.advertiseText, [this.ctx.queue, workerId, listener.pid, listener.started, leaseHash]);
        if (this.state === 'advertising' && this.epoch === epoch) this.state = (r.rowCount ?? 0) > 0 ? 'advertised' : 'off';
      } catch (err) {
        if (this.state === 'advertising' && this.epoch === epoch) this.state = 'off';
        this.logger.debug(`could not advertise worker ${workerId} as ready (pushes go through the queue): ${(err as Error).message}`);
      }
    });
  }

  /**
   * The worker filled up while advertised (a claim found jobs after all): takes the row back, so
   * pushes stop handing it jobs it would only hand back.
   */
  withdraw(): void {
    if (this.state !== 'advertised' && this.state !== 'advertising') return;
    this.state = 'off';
    this.epoch++;
    const { workerId } = this.ctx.identity();
    this.then(() =>
      this.ctx.pool.query(this.withdrawText, [this.ctx.queue, workerId]).then(
        () => undefined,
        (err) => this.logger.debug(`could not withdraw worker ${workerId}'s readiness (a push may hand it a job it hands back): ${(err as Error).message}`),
      ),
    );
  }

  /** Our statements run one after another, in the order of the calls (each op handles its own errors). */
  private then(op: () => Promise<void>): void {
    this.chain = this.chain.then(op);
  }

  /** A push took our row: its job has arrived. */
  taken(): void {
    if (this.state === 'advertised' || this.state === 'advertising') this.state = 'off';
  }

  /** Our row (if any) is unusable: the LISTEN connection was replaced, or the worker id renewed. */
  reset(): void {
    this.epoch++;
    if (this.state !== 'stopped') this.state = 'off';
  }

  /**
   * Withdraws every row we advertised; resolves to whether there was any. When it resolves, no
   * push can hand us a job any more, and those that did have committed (their NOTIFYs may still
   * be on their way: the caller reconciles).
   */
  async stop(): Promise<boolean> {
    this.state = 'stopped';
    await this.chain;
    if (this.advertisedIds.size === 0) return false;
    for (const id of this.advertisedIds) {
      await this.ctx.pool
        .query(this.withdrawText, [this.ctx.queue, id])
        .catch((err) => this.logger.warn(`could not withdraw worker ${id}'s readiness (pushes will find its LISTEN connection gone): ${(err as Error).message}`));
    }
    this.advertisedIds.clear();
    return true;
  }
}
