import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Pool } from 'pg';
import { eventsChannel, quoteIdent } from '../db/identifier.js';
import { getJobSql } from '../db/sql/admin.js';
import { toJobRecord, type JobRow } from '../db/sql/job-columns.js';
import { InvalidJobError, JobWaitTimeoutError, ProcessorDefinitionError } from '../errors.js';
import { didYouMean } from '../did-you-mean.js';
import type { JobRecord } from '../job.interfaces.js';
import { NotifyBus } from '../notify/notify-bus.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from '../queue.tokens.js';
import { decodeBroadcast, EventBroadcaster } from './event-broadcast.js';
import { JOB_EVENTS, type JobEvent, type JobEventListener, type JobEventName } from './job-event.js';

/** Statuses nothing runs again: what `waitFor` waits for. */
const FINAL = new Set(['done', 'killed', 'cancelled']);

interface Registration {
  listener: JobEventListener;
  queue?: string;
  label: string;
}

/**
 * Job events in this process: what its workers did (completed, failed, retrying, killed, snoozed,
 * progress), what its rescuer did (rescued) and what its QueueAdmin did (cancelled). Listeners run
 * after the fact, off the worker's path (a batch per turn of the event loop): one that throws or
 * rejects is logged with the job id and changes nothing; one that is slow delays only itself.
 * The worker checks `wants()` first, so an app without listeners pays nothing. For queues with
 * `events: true` the events also cross processes (see EventBroadcaster): listeners here see those
 * of every process, marked `remote`.
 */
@Injectable()
export class QueueEvents implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('QueueEvents');
  private readonly listeners = new Map<JobEventName, Registration[]>();
  /** Listeners of any event: none (the usual app) lets the ack path skip building events at all. */
  private listenerCount = 0;
  private pending: JobEvent[] = [];
  private scheduled = false;
  private readonly broadcaster: EventBroadcaster | null;
  private unsubscribe: Array<() => void> = [];

  constructor(
    @Inject(QUEUE_POOL) private readonly pool: Pool,
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    @Inject(QUEUE_SCHEMA_READY) _ready: true,
    private readonly bus: NotifyBus,
  ) {
    const shared = new Set([...options.queues.values()].filter((q) => q.events).map((q) => q.name));
    this.broadcaster = shared.size > 0 ? new EventBroadcaster(pool, eventsChannel(options.schema), randomBytes(8).toString('hex'), shared) : null;
  }

  onApplicationBootstrap(): void {
    const b = this.broadcaster;
    if (!b) return;
    this.unsubscribe.push(this.bus.subscribe(eventsChannel(this.options.schema), (payload) => {
      for (const e of decodeBroadcast(payload, b.origin)) this.dispatchLater(e);
    }));
  }

  beforeApplicationShutdown(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  /**
   * The job once it is finished (done, killed or cancelled), whichever process runs it: resolves
   * at its event (a queue with `events: true` for jobs run elsewhere), and reads the row at the
   * start, after every LISTEN reconnect and every `pollIntervalMs`, so an event missed while
   * disconnected (or never sent: a queue without `events`) costs at most a poll interval.
   * @throws JobWaitTimeoutError after `timeoutMs` (default 30 s).
   */
  waitFor<T = unknown>(id: string, options: { timeoutMs?: number } = {}): Promise<JobRecord<T>> {
    if (typeof id !== 'string' || id.length === 0) throw new InvalidJobError('id', 'must be a job id');
    const timeoutMs = options.timeoutMs ?? 30_000;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new InvalidJobError('options.timeoutMs', 'must be a number of milliseconds >= 0');
    return new Promise<JobRecord<T>>((resolve, reject) => {
      let done = false;
      const offs: Array<() => void> = [];
      const end = () => {
        done = true;
        clearTimeout(timer);
        for (const off of offs) off();
      };
      const check = () => {
        if (done) return;
        this.pool.query<JobRow>(getJobSql(quoteIdent(this.options.schema)), [id]).then(
          (r) => {
            const job = r.rows[0] ? toJobRecord(r.rows[0]) : null;
            if (!done && job && FINAL.has(job.status)) {
              end();
              resolve(job as JobRecord<T>);
            }
          },
          () => undefined, // unreachable now: the reconnect or the next event checks again
        );
      };
      const timer = setTimeout(() => {
        if (done) return;
        end();
        reject(new JobWaitTimeoutError(id, timeoutMs));
      }, timeoutMs);
      const poll = setInterval(check, this.options.pollIntervalMs);
      offs.push(() => clearInterval(poll));
      for (const event of ['completed', 'killed', 'cancelled'] as const) {
        offs.push(this.on(event, (e) => (e.job.id === id ? check() : undefined), { label: `waitFor(${id})` }));
      }
      offs.push(this.bus.onReconnect(check));
      check();
    });
  }

  /**
   * Calls `listener` for every `event` (of `options.queue` only, when given); returns the
   * unsubscribe. @throws ProcessorDefinitionError for an unknown event name.
   */
  on(event: JobEventName, listener: JobEventListener, options: { queue?: string; label?: string } = {}): () => void {
    checkEventName(event, options.label ?? 'QueueEvents.on');
    const reg: Registration = { listener, queue: options.queue, label: options.label ?? 'a QueueEvents.on listener' };
    const list = this.listeners.get(event) ?? [];
    list.push(reg);
    this.listeners.set(event, list);
    this.listenerCount++;
    return () => {
      const l = this.listeners.get(event);
      if (!l?.includes(reg)) return;
      this.listeners.set(event, l.filter((r) => r !== reg));
      this.listenerCount--;
    };
  }

  /** Whether any listener wants `event` (cheap: the worker asks before building an event). */
  wants(event: JobEventName): boolean {
    return (this.listeners.get(event)?.length ?? 0) > 0;
  }

  /** Whether any event of `queue` goes anywhere: a listener here, or other processes. */
  observes(queue: string): boolean {
    return this.listenerCount > 0 || this.shares(queue);
  }

  emit(e: JobEvent): void {
    if (this.broadcaster?.wants(e)) this.broadcaster.add(e);
    this.dispatchLater(e);
  }

  /** True when a queue's events cross processes: the worker emits them even without a local listener. */
  shares(queue: string): boolean {
    return this.broadcaster?.wants({ event: 'completed', job: { id: '', queue } }) ?? false;
  }

  private dispatchLater(e: JobEvent): void {
    if (!this.wants(e.event)) return;
    this.pending.push(e);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.dispatch());
  }

  private dispatch(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    for (const e of batch) {
      for (const r of this.listeners.get(e.event) ?? []) {
        if (r.queue !== undefined && r.queue !== e.job.queue) continue;
        try {
          const out = r.listener(e);
          if (out && typeof (out as Promise<unknown>).then === 'function') (out as Promise<unknown>).catch((err) => this.failed(r, e, err));
        } catch (err) {
          this.failed(r, e, err);
        }
      }
    }
  }

  private failed(r: Registration, e: JobEvent, err: unknown): void {
    this.logger.error(`${r.label} failed on "${e.event}" of job ${e.job.id} (queue "${e.job.queue}"): ${(err as Error)?.message ?? String(err)}`);
  }
}

export function checkEventName(event: unknown, where: string): asserts event is JobEventName {
  if (typeof event !== 'string' || !(JOB_EVENTS as readonly string[]).includes(event)) {
    throw new ProcessorDefinitionError(
      `${where}: ${JSON.stringify(event)} is not a job event (${JOB_EVENTS.join(', ')})${didYouMean(String(event), JOB_EVENTS)}`,
    );
  }
}
