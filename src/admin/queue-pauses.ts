import type { Pool } from 'pg';
import { InvalidJobError } from '../errors.js';
import { pauseQueueSql, queueStatesSql, resumeQueueSql } from '../db/sql/queues.js';
import { queueNameProblem } from '../queue-name.js';

export interface PauseState {
  queue: string;
  paused: boolean;
  reason: string | null;
  pausedAt: Date | null;
}

const MAX_REASON_LENGTH = 1000;

/**
 * Pause and resume, cluster-wide and persistent (the `queues` table). A paused queue accepts
 * pushes; no process claims from it (the claim statement reads the table) until it is resumed;
 * jobs already running finish. Used by QueueAdmin and by the CLI.
 */
export class QueuePauses {
  constructor(
    private readonly pool: Pool,
    private readonly schemaSql: string,
    private readonly channels: { jobs: string; control: string },
    /** The queues a caller may name (QueueAdmin: those of forRoot); undefined: any valid name (the CLI). */
    private readonly known?: readonly string[],
  ) {}

  async pause(queue: string, options: { reason?: string } = {}): Promise<PauseState> {
    this.check(queue);
    if (options === null || typeof options !== 'object') throw new InvalidJobError('options', 'must be an object');
    const reason = options.reason ?? null;
    if (reason !== null && (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH || reason.includes('\0'))) {
      throw new InvalidJobError('options.reason', `must be a string of at most ${MAX_REASON_LENGTH} characters`);
    }
    const { rows } = await this.pool.query(pauseQueueSql(this.schemaSql), [queue, reason, this.channels.control]);
    return { queue, paused: true, reason: rows[0].paused_reason, pausedAt: rows[0].paused_at };
  }

  /** Resolves to true when the queue was paused (and is not now), false when it was not paused. */
  async resume(queue: string): Promise<boolean> {
    this.check(queue);
    const { rows } = await this.pool.query(resumeQueueSql(this.schemaSql), [queue, this.channels.control, this.channels.jobs]);
    return rows[0].resumed > 0;
  }

  async isPaused(queue: string): Promise<boolean> {
    this.check(queue);
    return (await this.pool.query(queueStatesSql(this.schemaSql), [queue])).rows.length > 0;
  }

  /** Every paused queue, by name. */
  async paused(): Promise<Map<string, PauseState>> {
    const { rows } = await this.pool.query(queueStatesSql(this.schemaSql), [null]);
    return new Map(rows.map((r) => [r.name, { queue: r.name, paused: true, reason: r.paused_reason, pausedAt: r.paused_at }]));
  }

  private check(queue: unknown): asserts queue is string {
    const problem = queueNameProblem(queue);
    if (problem) throw new InvalidJobError('queue', problem);
    if (this.known && !this.known.includes(queue as string)) {
      throw new InvalidJobError('queue', `${JSON.stringify(queue)} is not a registered queue (known: ${this.known.join(', ')})`);
    }
  }
}
