import { Logger } from '@nestjs/common';
import type { Cron } from 'croner';
import type { Pool } from 'pg';
import { enqueueSlotsSql, ownedSchedulesSql } from '../db/sql/schedules.js';
import { nextJobId } from '../producer/job-id.js';
import { cronOf, type CatchUp } from './schedule-definition.js';
import { planSlots } from './slots.js';

/** Slots are enqueued this far ahead of their time (their run_at is the slot: never early). */
export const LOOKAHEAD_MS = 1_000;
/** The longest sleep between two looks at the table (a pause, a resume, another app's change). */
export const MAX_SLEEP_MS = 30_000;

interface DueRow {
  key: string;
  cron: string;
  tz: string;
  catch_up: CatchUp;
  definition_hash: string;
  next_slot: Date;
  last_slot: Date | null;
  now: Date;
  due: boolean;
  next_in_ms: number;
}

/**
 * Enqueues the slots of one owner's schedules, in any number of processes at once and with no
 * leader: each step reads the due schedules with the database's clock, plans each one's slots from
 * its stored definition, and enqueues them with a statement that only applies to the state it was
 * planned on (see enqueueSlotsSql), so each slot is enqueued once, by whoever comes first. Then it
 * sleeps until the next slot is within the lookahead (by the database's clock), at most MAX_SLEEP_MS.
 * States: idle -> running (one step at a time, a timer between) -> stopped.
 */
export class Scheduler {
  private readonly logger = new Logger('QueueScheduler');
  private readonly crons = new Map<string, Cron>();
  private timer: NodeJS.Timeout | null = null;
  private stepping: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private failures = 0;

  constructor(
    private readonly pool: Pool,
    private readonly schemaSql: string,
    private readonly owner: string,
  ) {}

  start(): void {
    this.wake();
  }

  /** Looks at the table now (a step, or one more after the step under way). */
  wake(): void {
    if (this.stopped) return;
    if (this.stepping) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stepping = this.step().finally(() => {
      this.stepping = null;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.stepping;
  }

  private async step(): Promise<void> {
    let sleepMs = MAX_SLEEP_MS;
    try {
      const { rows } = await this.pool.query<DueRow>(ownedSchedulesSql(this.schemaSql), [this.owner, LOOKAHEAD_MS]);
      let advanced = false;
      for (const row of rows) {
        if (this.stopped) return;
        if (row.due) advanced = (await this.advance(row)) || advanced;
        else sleepMs = Math.min(sleepMs, Math.max(0, row.next_in_ms - LOOKAHEAD_MS));
      }
      // A schedule that moved on may be due again within the lookahead (a per-second one): look
      // again at once. One another process moved on meanwhile: shortly, never in a spin.
      if (advanced) sleepMs = 0;
      else if (rows.some((r) => r.due)) sleepMs = Math.min(sleepMs, 100);
      this.failures = 0;
    } catch (err) {
      this.failures++;
      sleepMs = Math.min(MAX_SLEEP_MS, 250 * 2 ** Math.min(this.failures, 7));
      if (this.failures === 1) this.logger.warn(`schedules not checked (${(err as Error).message}); retrying in ${sleepMs} ms`);
    } finally {
      if (!this.stopped) {
        this.timer = setTimeout(() => this.wake(), sleepMs);
        this.timer.unref();
      }
    }
  }

  /** Plans and enqueues one schedule's due slots; false when another process was first (or it changed). */
  private async advance(row: DueRow): Promise<boolean> {
    const cron = this.cronFor(row.cron, row.tz);
    const last = row.last_slot ?? new Date(row.next_slot.getTime() - 1);
    const plan = planSlots(cron, last, row.now, LOOKAHEAD_MS, row.catch_up);
    const ids = plan.enqueue.map(() => nextJobId());
    const { rows } = await this.pool.query<{ enqueued: number; advanced: number }>(enqueueSlotsSql(this.schemaSql), [
      row.key,
      row.last_slot,
      row.definition_hash,
      plan.enqueue,
      ids,
      plan.considered ?? row.last_slot,
      plan.next,
    ]);
    return rows[0].advanced > 0;
  }

  private cronFor(expression: string, tz: string): Cron {
    const k = `${tz} ${expression}`;
    let c = this.crons.get(k);
    if (!c) {
      c = cronOf(expression, tz);
      this.crons.set(k, c);
    }
    return c;
  }
}
