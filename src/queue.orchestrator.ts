import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { Acker, type Ack } from './consumer/acker.js';
import type { AttemptTransactions } from './handler-transactions/attempt-transactions.js';
import { createAttemptTransactions } from './handler-transactions/create-attempt-transactions.js';
import { Fetcher } from './consumer/fetcher.js';
import type { HandlerDefinition } from './consumer/handler-definition.js';
import { Heartbeat } from './consumer/heartbeat.js';
import { LocalWorkers } from './direct-start/local-workers.js';
import { handedRow, isHandedJob } from './direct-start/handed-job.js';
import { Readiness } from './direct-start/readiness.js';
import { ControlListener } from './consumer/control-listener.js';
import { ProgressWriter } from './consumer/progress-writer.js';
import { Rescuer } from './consumer/rescuer.js';
import { UnhandledNameWatch } from './consumer/unhandled-names.js';
import { Worker } from './consumer/worker.js';
import { WorkerIdentity } from './consumer/worker-identity.js';
import { controlChannel, jobsChannel, quoteIdent, statementNames } from './db/identifier.js';
import { PlanSizeClass } from './db/plan-size-class.js';
import { nextDueSql } from './db/sql/next-due.js';
import { releaseJobsParams, releaseJobsSql, type ReleasedJob } from './db/sql/release-jobs.js';
import { ProcessorExplorer } from './discovery/processor.explorer.js';
import { emitAckEvents } from './events/ack-events.js';
import { QueueEvents } from './events/queue-events.js';
import { NotifyBus } from './notify/notify-bus.js';
import { OutageReporter } from './outage/outage-reporter.js';
import type { ResolvedQueueOptions } from './queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from './queue.tokens.js';

/** An insert of this many jobs may have grown the table past its size class (see PlanSizeClass). */
const LARGE_BATCH = 1000;

interface QueueRuntime {
  worker: Worker;
  fetcher: Fetcher;
}

/**
 * Owns every started part of the consumer side and their order:
 * discover (onModuleInit) -> heartbeat, bus, fetchers (onApplicationBootstrap) ->
 * stop claiming, drain within the grace period, abort and release the rest, flush acks
 * (beforeApplicationShutdown) -> close the bus and the pool we created (onApplicationShutdown).
 */
@Injectable()
export class QueueOrchestrator implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('QueueOrchestrator');
  private readonly s: string;
  private readonly identity = new WorkerIdentity();
  private handlers = new Map<string, Map<string, HandlerDefinition>>();
  private readonly runtimes = new Map<string, QueueRuntime>();
  private acker: Acker | null = null;
  private heartbeat: Heartbeat | null = null;
  private rescuer: Rescuer | null = null;
  private unhandledNames: UnhandledNameWatch | null = null;
  private control: ControlListener | null = null;
  private planSizeClass: PlanSizeClass | null = null;
  private transactions: AttemptTransactions | null = null;
  private unsubscribe: Array<() => void> = [];
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';

  constructor(
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    @Inject(QUEUE_POOL) private readonly pool: Pool,
    @Inject(QUEUE_SCHEMA_READY) _ready: true,
    private readonly explorer: ProcessorExplorer,
    private readonly bus: NotifyBus,
    private readonly localWorkers: LocalWorkers,
    private readonly outage: OutageReporter,
    private readonly events: QueueEvents,
  ) {
    this.s = quoteIdent(options.schema);
  }

  /** Ms since this process's heartbeat last landed; null when it runs no workers (for health checks). */
  get heartbeatAgeMs(): number | null {
    const at = this.state === 'running' ? this.heartbeat?.lastBeatAt : null;
    return at == null ? null : Date.now() - at;
  }

  /** The id this process writes in `locked_by` (it changes if its lease ever expires). */
  get workerId(): string {
    return this.identity.workerId;
  }

  onModuleInit(): void {
    this.handlers = this.explorer.explore();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options.workers || this.state !== 'idle') return;
    const queues = [...this.handlers.keys()];
    if (queues.length === 0) return;
    this.state = 'running';
    const ackName = statementNames(this.options.schema).ack;
    // Prepared statements are named after the table's size (see PlanSizeClass); unnamed ones are planned on every run.
    const statementName = (base: string) => (this.options.preparedStatements ? this.planSizeClass?.name(base) : undefined);
    this.transactions = createAttemptTransactions(this.options, this.handlers, this.pool, this.s, () => statementName(ackName), (acks, landed) =>
      this.acker!.written(acks, landed),
    );
    // A DataSource on another database is refused here, before any job is claimed.
    await this.transactions?.verify().catch(async (err) => {
      await this.transactions!.stop();
      throw err;
    });
    // Also keeps the table's statistics fresh as it grows, which unnamed statements need too.
    this.planSizeClass = new PlanSizeClass(this.pool, `${this.s}.jobs`);
    await this.planSizeClass.start();
    this.acker = new Acker(this.pool, this.s, () => statementName(ackName), (acks, landed) => this.acksSettled(acks, landed), this.outage);
    for (const queue of queues) {
      const config = this.options.queues.get(queue)!;
      let fetcher!: Fetcher;
      const progress = new ProgressWriter(this.pool, this.s, queue);
      const worker = new Worker(config, this.handlers.get(queue)!, (ack) => this.acker!.add(ack), () => fetcher.slotFreed(), progress, this.events, this.options.telemetry, this.transactions);
      fetcher = new Fetcher({
        pool: this.pool,
        schemaSql: this.s,
        schema: this.options.schema,
        queue,
        pollIntervalMs: config.pollIntervalMs,
        worker,
        workerId: () => this.identity.workerId,
        leaseMs: this.options.orphanTimeoutMs,
        acker: this.acker,
        statementName,
        outage: this.outage,
        // Pushes of other processes may hand jobs to this worker only where it would take its own directly.
        readiness: config.directStart
          ? new Readiness({ pool: this.pool, schemaSql: this.s, queue, identity: () => this.identity, listener: () => this.bus.listener })
          : undefined,
      });
      this.runtimes.set(queue, { worker, fetcher });
    }
    const names = new Map(queues.map((q) => [q, [...this.handlers.get(q)!.keys()]]));
    this.heartbeat = new Heartbeat(
      this.pool,
      this.s,
      this.identity,
      names,
      this.options.heartbeatIntervalMs,
      this.options.orphanTimeoutMs,
      () => this.runtimes.forEach((r) => r.fetcher.requestReconcile()),
      (oldId) =>
        this.runtimes.forEach((r) => {
          r.worker.abandon(oldId);
          r.fetcher.listenerChanged();
        }),
      this.outage,
    );
    await this.heartbeat.start();
    // As often as heartbeats are written, not more: a worker's death shows only at that grain, and
    // each pass reads the running-jobs index with every entry a burn-down left in it since the
    // last vacuum (at 1 s in each of 4 processes, 4% of the server's time in the bench's burn-down).
    const rescueEveryMs = Math.max(this.options.pollIntervalMs, this.options.heartbeatIntervalMs);
    this.rescuer = new Rescuer(this.pool, this.s, jobsChannel(this.options.schema), this.options.orphanTimeoutMs, rescueEveryMs, this.outage, this.events);
    this.rescuer.start();
    this.unhandledNames = new UnhandledNameWatch(
      this.pool,
      this.s,
      names,
      UnhandledNameWatch.intervalFor(this.options.pollIntervalMs),
      this.options.orphanTimeoutMs,
      (queue) => this.runtimes.get(queue)!.worker.saturated,
    );
    this.unhandledNames.start();
    const workers = new Map([...this.runtimes].map(([q, r]) => [q, r.worker]));
    const control = new ControlListener(this.pool, this.s, workers, this.options.pollIntervalMs, (jobs, what) => this.release(jobs, what, 'log'));
    this.control = control;
    control.start();
    this.unsubscribe.push(
      this.bus.subscribe(jobsChannel(this.options.schema), (payload) => this.notified(payload)),
      this.bus.subscribe(controlChannel(this.options.schema), (payload) => control.notified(payload)),
      // Catch up after every (re)connect: NOTIFYs sent while we were not listening are gone, and
      // with them the hints of jobs due later.
      this.bus.onReconnect(() => {
        this.runtimes.forEach((r, queue) => {
          // Jobs handed to us while we were not listening were lost with their NOTIFYs.
          r.fetcher.listenerChanged();
          r.fetcher.wake();
          void this.hintNextDue(queue, r.fetcher);
        });
        control.reconnected();
      }),
      this.bus.onDeliveryVerified(() => this.runtimes.forEach((r) => r.fetcher.offerReadiness())),
    );
    for (const [queue, r] of this.runtimes) {
      r.fetcher.start();
      // From here on, this process's pushes of due jobs may start directly (see Fetcher.startDirect).
      if (this.options.queues.get(queue)!.directStart) this.unsubscribe.push(this.localWorkers.register(queue, r.fetcher));
    }
    this.logger.log(`worker ${this.identity.workerId} started on queue(s) ${queues.join(', ')}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    const runtimes = [...this.runtimes.values()];
    await Promise.all(runtimes.map((r) => r.fetcher.stop()));
    // Prefetched jobs go back at once, so other workers can take them while ours drain.
    await this.release(runtimes.flatMap((r) => r.worker.unprefetch()), 'prefetched job(s) not started', 'log');
    await Promise.all(runtimes.map((r) => r.worker.drain(this.options.shutdownGraceMs)));
    const aborted = runtimes.flatMap((r) => r.worker.abortAll(new Error('shutting down')));
    await this.release(aborted, `unfinished job(s) after the ${this.options.shutdownGraceMs} ms grace period`, 'warn');
    await this.acker?.stop(Math.max(1000, this.options.shutdownGraceMs));
    await this.transactions?.stop();
    await this.rescuer?.stop();
    await this.unhandledNames?.stop();
    await this.control?.stop();
    await this.heartbeat?.stop();
    await this.planSizeClass?.stop();
    this.state = 'stopped';
  }

  async onApplicationShutdown(): Promise<void> {
    await this.beforeApplicationShutdown();
    await this.bus.stop();
    if (!this.options.pool) await this.pool.end().catch(() => undefined);
    this.state = 'stopped';
  }

  /** Sets the fetcher's timer for the queue's next delayed job (a hint: the poll still finds it). */
  private async hintNextDue(queue: string, fetcher: Fetcher): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ delay_ms: number | null }>(nextDueSql(this.s), [queue]);
      if (rows[0]?.delay_ms != null) fetcher.wakeIn(rows[0].delay_ms);
    } catch (err) {
      const message = `could not read the next due job of queue "${queue}" (the poll will find it): ${(err as Error).message}`;
      if (!this.outage.failed('claims', err, `claims of queue "${queue}": database unavailable (${message})`)) this.logger.warn(message);
    }
  }

  /** Hands jobs we hold but will not run back to `pending`; if that fails, the rescuer returns them later. */
  private async release(jobs: ReleasedJob[], what: string, level: 'log' | 'warn'): Promise<void> {
    if (jobs.length === 0) return;
    this.logger[level](`returning ${jobs.length} ${what} to pending`);
    await this.pool
      .query(releaseJobsSql(this.s), releaseJobsParams(jobs))
      .catch((err) => this.logger.error(`could not release jobs (they will be rescued): ${(err as Error).message}`));
  }

  private notified(payload: string): void {
    let msg: { queue?: string; delayMs?: number | null; count?: number; handedTo?: unknown; top?: unknown; firstMs?: unknown };
    try {
      msg = JSON.parse(payload);
    } catch {
      return;
    }
    const fetcher = msg.queue !== undefined ? this.runtimes.get(msg.queue)?.fetcher : undefined;
    if (!fetcher) return;
    // A job handed to one worker (see Readiness): no one else has anything to claim.
    if (isHandedJob(msg)) return fetcher.handed(handedRow(msg), msg.handedTo);
    // Where the pushed jobs sort (migration 0007), for the fetcher's claim floor.
    const top = typeof msg.top === 'number' ? msg.top : undefined;
    const firstMs = typeof msg.firstMs === 'number' ? msg.firstMs : undefined;
    if ((msg.count ?? 0) >= LARGE_BATCH && this.planSizeClass) {
      // The table may have grown past its size class: claim with statements planned for its new size.
      void this.planSizeClass.refresh().then(() => fetcher.jobsNotified(top, firstMs));
    } else {
      fetcher.jobsNotified(top, firstMs);
    }
    if (typeof msg.delayMs === 'number' && msg.delayMs > 0) fetcher.wakeIn(msg.delayMs);
  }

  /** A batch of acks was written: retries get a due-time timer, and the acked slots are free now. */
  private acksSettled(acks: Ack[], landed: Set<string>): void {
    const queues = new Set<string>();
    for (const a of acks) {
      queues.add(a.queue);
      if (landed.has(a.id)) {
        if (this.events.observes(a.queue)) emitAckEvents(this.events, a);
        this.options.telemetry?.landed(a);
      }
      if ((a.status === 'retrying' || a.status === 'snoozed') && landed.has(a.id)) this.runtimes.get(a.queue)?.fetcher.wakeIn(a.retryDelayMs);
    }
    for (const q of queues) this.runtimes.get(q)?.fetcher.slotFreed();
  }
}
