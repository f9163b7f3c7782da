import { statementNames } from '../db/identifier.js';
import { insertStartedJobSql } from '../db/sql/insert-started-job.js';
import { insertHandedJobSql } from '../db/sql/ready-workers.js';
import type { ValidatedJob } from '../encoding/validated-job.js';
import { executorFor, type Executor } from './executor.js';
import { nextJobId } from './job-id.js';
import type { QueueSinkContext } from './queue-sink.js';

/** What DirectPush asks of its sink. */
export interface DirectPushFallbacks {
  /** Inserts the job `pending`, the usual way (its id is set); resolves to the id. */
  pending: (job: ValidatedJob) => Promise<string>;
  /** The error a failed insert of `job` under `id` means to the caller (typed: duplicate id or key, unavailable). */
  translate: (err: unknown, job: ValidatedJob, id: string, exec: Executor) => Promise<unknown>;
}

/**
 * A hand-off carries the job in a NOTIFY, whose payload the server caps at 8,000 bytes: only jobs
 * whose texts surely fit (at most 3 bytes of UTF-8 per UTF-16 unit, plus the message's keys) go
 * that way; larger ones are pushed `pending`.
 */
const HAND_OFF_MAX_UNITS = 2400;

/**
 * After a hand-off found no worker ready, the pushes of the next this-many ms are plain INSERTs:
 * the hand-off statement costs a push about 0.06 ms more (its CTEs and the tables they open:
 * bench/probe-push.mjs), which a stream of pushes into busy workers would pay for nothing. An idle
 * worker is ready again within a round trip of starting its last job, so a trickle of pushes
 * (where the pickup's latency matters) is handed off push after push.
 */
const HAND_OFF_RETRY_MS = 20;

function fitsHandOff(queue: string, job: ValidatedJob): boolean {
  return queue.length + job.name.length + job.payload.length + job.metadata.length + (job.idempotencyKey?.length ?? 0) + (job.id?.length ?? 26) <= HAND_OFF_MAX_UNITS;
}

/**
 * The paths of a due job pushed outside a transaction that skip the claim: started by this
 * process's idle worker (a direct start, see Fetcher.startDirect), else handed to a ready worker of
 * any process (see insertHandedJobSql), else null: the sink inserts it `pending`.
 */
export class DirectPush {
  private readonly insertStartedText: string;
  private readonly insertStartedName: string | undefined;
  private readonly insertHandedText: string;
  private readonly insertHandedName: string | undefined;
  /** When a hand-off last found no worker ready (see HAND_OFF_RETRY_MS). */
  private handOffMissedAt = -Infinity;
  /**
   * A hand-off is in flight: the pushes of a burst meanwhile go the usual way, grouped (see
   * PushGroups), instead of a statement each for the one worker a hand-off is likely to find.
   */
  private handing = false;

  constructor(
    private readonly queue: string,
    private readonly ctx: QueueSinkContext,
    private readonly fallbacks: DirectPushFallbacks,
  ) {
    const names = statementNames(ctx.schema);
    this.insertStartedText = insertStartedJobSql(ctx.schemaSql);
    this.insertStartedName = ctx.preparedStatements ? names.insertStarted : undefined;
    this.insertHandedText = insertHandedJobSql(ctx.schemaSql);
    this.insertHandedName = ctx.preparedStatements ? names.insertHanded : undefined;
  }

  /** Resolves to the job's id once it is stored; null when neither path applies (insert it the usual way). */
  push(job: ValidatedJob): Promise<string> | null {
    const started = this.startDirect(job);
    if (started) return started;
    const handOff = this.ctx.handOff;
    if (!handOff || this.handing || !fitsHandOff(this.queue, job) || performance.now() - this.handOffMissedAt < HAND_OFF_RETRY_MS) return null;
    // Not to our own worker: whatever made it decline this job holds for a hand-off too.
    this.handing = true;
    return this.insertHanded(job, handOff, this.ctx.localWorkers?.get(this.queue)?.workerId() ?? null).finally(() => (this.handing = false));
  }

  /**
   * While this process's worker for the queue is idle: inserted already claimed by that worker,
   * the job starts when the INSERT returns. Null when the worker cannot take it now. If the lease
   * fence stops the insert (our heartbeat is late), the job is pushed the usual way, under the same id.
   */
  private startDirect(job: ValidatedJob): Promise<string> | null {
    const starter = this.ctx.localWorkers?.get(this.queue);
    if (!starter) return null;
    const id = job.id ?? nextJobId();
    const exec = executorFor(this.ctx.pool, undefined, this.ctx.limiter);
    const landed = starter.startDirect(job.name, async (lockedBy, leaseMs) => {
      const r = await exec.query<{ created_at: Date }>({
        name: this.insertStartedName,
        text: this.insertStartedText,
        values: [id, this.queue, job.name, job.payload, job.maxAttempts, job.priority, job.metadata, job.idempotencyKey, lockedBy, leaseMs],
      });
      if (r.rows.length === 0) return null;
      const createdAt = r.rows[0].created_at.getTime();
      // The row as a claim returns it. `payload` and `metadata` are the validated JSON texts,
      // parsed: equal values, though an object's keys keep the pushed order where jsonb's output
      // would sort them.
      return {
        id,
        name: job.name,
        payload: JSON.parse(job.payload),
        attempts: 1,
        max_attempts: job.maxAttempts,
        priority: job.priority,
        run_at: createdAt,
        created_at: createdAt,
        metadata: JSON.parse(job.metadata),
        idempotency_key: job.idempotencyKey,
      };
    });
    if (!landed) return null;
    return landed.then(
      (row) => (row ? id : this.fallbacks.pending({ ...job, id })),
      async (err) => {
        throw await this.fallbacks.translate(err, job, id, exec);
      },
    );
  }

  /**
   * Handed to a ready worker of any process if there is one (it starts on the NOTIFY, without a
   * claim), else inserted `pending` as usual: one statement either way.
   */
  private async insertHanded(job: ValidatedJob, handOff: { leaseMs: number; channel: string }, passOver: string | null): Promise<string> {
    const id = job.id ?? nextJobId();
    const exec = executorFor(this.ctx.pool, undefined, this.ctx.limiter);
    const began = Date.now();
    try {
      const r = await exec.query({
        name: this.insertHandedName,
        text: this.insertHandedText,
        values: [id, this.queue, job.name, job.payload, job.maxAttempts, job.priority, job.metadata, job.idempotencyKey, handOff.leaseMs, handOff.channel, passOver],
      });
      if (r.rowCount === 0) this.handOffMissedAt = performance.now();
    } catch (err) {
      throw await this.fallbacks.translate(err, job, id, exec);
    }
    this.ctx.outage?.succeeded('pushes', began);
    return id;
  }
}
