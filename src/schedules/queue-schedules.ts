import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Pool } from 'pg';
import { controlChannel, quoteIdent } from '../db/identifier.js';
import { databaseNowSql, listSchedulesSql, pauseScheduleSql, reconcileSchedulesSql, resumeScheduleSql, triggerScheduleSql } from '../db/sql/schedules.js';
import { InvalidJobError, InvalidQueueOptionsError } from '../errors.js';
import { NotifyBus } from '../notify/notify-bus.js';
import { nextJobId } from '../producer/job-id.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from '../queue.tokens.js';
import { exploreCronSchedules } from './schedule.explorer.js';
import { cronOf, type CatchUp, type ScheduleDefinition } from './schedule-definition.js';
import { Scheduler } from './scheduler.js';

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

/**
 * Recurring jobs: at bootstrap, reconciles the app's declared schedules (`@Cron` and the
 * `schedules` option) with the `schedules` table, as owner `scheduleOwner`, then runs the
 * Scheduler that enqueues their slots. Also the operator verbs on schedules.
 */
@Injectable()
export class QueueSchedules implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('QueueSchedules');
  private readonly s: string;
  private scheduler: Scheduler | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    @Inject(QUEUE_POOL) private readonly pool: Pool,
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    @Inject(QUEUE_SCHEMA_READY) _ready: true,
    private readonly discovery: DiscoveryService,
    private readonly bus: NotifyBus,
  ) {
    this.s = quoteIdent(options.schema);
  }

  async onApplicationBootstrap(): Promise<void> {
    const declared = [...this.options.schedules, ...exploreCronSchedules(this.discovery)];
    const byKey = new Map<string, ScheduleDefinition>();
    for (const d of declared) {
      const other = byKey.get(d.key);
      if (other) throw new InvalidQueueOptionsError(`schedule ${JSON.stringify(d.key)}.key`, `is declared twice: by ${other.origin} and by ${d.origin}`);
      byKey.set(d.key, d);
    }
    await this.reconcile(declared);
    if (declared.length === 0) return;
    this.scheduler = new Scheduler(this.pool, this.s, this.options.scheduleOwner);
    // A resume (or a change by another process) wakes the schedulers at once, not at their next look.
    this.unsubscribe = this.bus.subscribe(controlChannel(this.options.schema), (payload) => {
      if (payload.includes('"schedules"')) this.scheduler?.wake();
    });
    this.scheduler.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.scheduler?.stop();
    this.scheduler = null;
  }

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
    await this.pool.query('SELECT pg_notify($1, $2)', [controlChannel(this.options.schema), JSON.stringify({ type: 'schedules', key })]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Enqueues the schedule's job now, outside its slots; resolves to the job id, or null when there is no such schedule. */
  async triggerNow(key: string): Promise<string | null> {
    checkKey(key);
    const { rows } = await this.pool.query(triggerScheduleSql(this.s), [key, nextJobId()]);
    return rows[0]?.id ?? null;
  }

  /** One transaction: a failed reconcile leaves the previous schedules as they were. */
  private async reconcile(declared: ScheduleDefinition[]): Promise<void> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const now: Date = (await client.query(databaseNowSql())).rows[0].now;
      const rows = declared.map((d) => ({
        key: d.key,
        queue: d.queue,
        name: d.name,
        cron: d.cron,
        tz: d.tz,
        template: { data: JSON.parse(d.template.data), priority: d.template.priority, maxAttempts: d.template.maxAttempts, metadata: JSON.parse(d.template.metadata) },
        catch_up: d.catchUp,
        hash: d.hash,
        next_slot: cronOf(d.cron, d.tz).nextRun(now) ?? new Date(8.64e15),
      }));
      const r = (await client.query(reconcileSchedulesSql(this.s), [this.options.scheduleOwner, JSON.stringify(rows), now])).rows[0];
      if (r.foreign.length > 0) {
        await client.query('ROLLBACK');
        throw new InvalidQueueOptionsError(
          `schedule ${JSON.stringify(r.foreign[0])}.key`,
          `belongs to another app (scheduleOwner ${JSON.stringify(r.foreign_owners[0])}): give this app's schedule another key, or the same scheduleOwner`,
        );
      }
      await client.query('COMMIT');
      if (declared.length > 0 || r.removed > 0) {
        this.logger.log(`${declared.length} schedule(s) of owner "${this.options.scheduleOwner}" in place${r.removed > 0 ? `, ${r.removed} no longer declared removed` : ''}`);
      }
    } catch (err) {
      broken = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release(broken);
    }
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
