import type { Pool } from 'pg';
import { controlChannel } from '../db/identifier.js';
import { databaseNowSql, listSchedulesSql, pauseScheduleSql, resumeScheduleSql, triggerScheduleSql } from '../db/sql/schedules.js';
import { InvalidJobError } from '../errors.js';
import { nextJobId } from '../producer/job-id.js';
import { cronOf, type CatchUp } from './schedule-definition.js';

/** A stored schedule, as `listSchedules` returns it. */
export interface ScheduleRecord {
  key: string;
  owner: string;
  queue: string;
  name: string;
  cron: string;
  tz: string;
  data: unknown;
  catchUp: CatchUp;
  nextSlot: Date;
  /** The last slot considered (enqueued, or skipped by the catch-up policy). */
  lastSlot: Date | null;
  lastEnqueuedSlot: Date | null;
  lastEnqueuedAt: Date | null;
  paused: boolean;
}

/** The operator verbs on schedules, on a pool: used by QueueSchedules and by the CLI. */
export class ScheduleOperations {
  constructor(
    private readonly pool: Pool,
    private readonly s: string,
    private readonly schema: string,
  ) {}

  /** Every stored schedule (of every owner), by key. */
  async listSchedules(): Promise<ScheduleRecord[]> {
    return (await this.pool.query(listSchedulesSql(this.s), [null])).rows.map(toRecord);
  }

  /** Stops enqueuing its slots until resumed; resolves to the schedule, or null when there is none. */
  async pauseSchedule(key: string): Promise<ScheduleRecord | null> {
    checkKey(key);
    const { rows } = await this.pool.query(pauseScheduleSql(this.s), [key]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Enqueues again from the next slot after now (slots that fell in the pause are not owed). Null: not paused or no such schedule. */
  async resumeSchedule(key: string): Promise<ScheduleRecord | null> {
    checkKey(key);
    const [row] = (await this.pool.query(listSchedulesSql(this.s), [key])).rows;
    if (!row?.paused) return null;
    const now: Date = (await this.pool.query(databaseNowSql())).rows[0].now;
    const next = cronOf(row.cron, row.tz).nextRun(now) ?? new Date(8.64e15);
    const { rows } = await this.pool.query(resumeScheduleSql(this.s), [key, now, next]);
    await this.pool.query('SELECT pg_notify($1, $2)', [controlChannel(this.schema), JSON.stringify({ type: 'schedules', key })]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Enqueues the schedule's job now, outside its slots; resolves to the job id, or null when there is no such schedule. */
  async triggerNow(key: string): Promise<string | null> {
    checkKey(key);
    const { rows } = await this.pool.query(triggerScheduleSql(this.s), [key, nextJobId()]);
    return rows[0]?.id ?? null;
  }
}

function checkKey(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidJobError('key', 'must be a schedule key (a non-empty string)');
}

function toRecord(r: Record<string, any>): ScheduleRecord {
  return {
    key: r.key,
    owner: r.owner,
    queue: r.queue,
    name: r.name,
    cron: r.cron,
    tz: r.tz,
    data: r.template?.data,
    catchUp: r.catch_up,
    nextSlot: r.next_slot,
    lastSlot: r.last_slot,
    lastEnqueuedSlot: r.last_enqueued_slot,
    lastEnqueuedAt: r.last_enqueued_at,
    paused: r.paused,
  };
}
