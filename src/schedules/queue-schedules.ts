import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Pool } from 'pg';
import { controlChannel, quoteIdent } from '../db/identifier.js';
import { databaseNowSql, liveHandlerSql, reconcileSchedulesSql } from '../db/sql/schedules.js';
import { InvalidQueueOptionsError } from '../errors.js';
import { ProcessorExplorer } from '../discovery/processor.explorer.js';
import { NotifyBus } from '../notify/notify-bus.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from '../queue.tokens.js';
import { exploreCronSchedules } from './schedule.explorer.js';
import { cronOf, type ScheduleDefinition } from './schedule-definition.js';
import { ScheduleOperations, type ScheduleRecord } from './schedule-operations.js';
import { Scheduler } from './scheduler.js';

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
  private readonly ops: ScheduleOperations;

  constructor(
    @Inject(QUEUE_POOL) private readonly pool: Pool,
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    @Inject(QUEUE_SCHEMA_READY) _ready: true,
    private readonly discovery: DiscoveryService,
    private readonly bus: NotifyBus,
    private readonly explorer: ProcessorExplorer,
  ) {
    this.s = quoteIdent(options.schema);
    this.ops = new ScheduleOperations(pool, this.s, options.schema);
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
    await this.warnUnhandled(declared);
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

  listSchedules(): Promise<ScheduleRecord[]> {
    return this.ops.listSchedules();
  }

  pauseSchedule(key: string): Promise<ScheduleRecord | null> {
    return this.ops.pauseSchedule(key);
  }

  resumeSchedule(key: string): Promise<ScheduleRecord | null> {
    return this.ops.resumeSchedule(key);
  }

  triggerNow(key: string): Promise<string | null> {
    return this.ops.triggerNow(key);
  }

  /** A schedule whose job no handler of this app nor any live worker has: allowed (another service may come), said once. */
  private async warnUnhandled(declared: ScheduleDefinition[]): Promise<void> {
    const mine = this.explorer.explore();
    for (const d of declared) {
      if (mine.get(d.queue)?.has(d.name)) continue;
      const { rows } = await this.pool.query(liveHandlerSql(this.s), [d.queue, d.name, this.options.orphanTimeoutMs]);
      if (rows.length === 0) {
        this.logger.warn(`schedule "${d.key}" enqueues job "${d.name}" in queue "${d.queue}", which no handler of this app and no live worker has: its jobs wait until one runs`);
      }
    }
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
