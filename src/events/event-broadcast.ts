import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { JOB_EVENTS, type JobEvent, type JobEventName } from './job-event.js';

/** Events per NOTIFY: about 60 bytes each, far below the 8,000-byte payload limit. */
const PER_NOTIFY = 100;

/** [event index, id, queue, name, attempt]: what crosses processes (details are read from the row). */
type Wire = [number, string, string, string | null, number | null];

/**
 * Sends job events of the queues with `events: true` to every other process on one NOTIFY
 * channel, batched per turn of the event loop, ids only: a listener elsewhere reads what else it
 * needs (`getJob`). Not durable: a process not listening at the moment misses them (`waitFor`
 * reads the row again after a reconnect). `progress` stays local (it can fire in a tight loop).
 */
export class EventBroadcaster {
  private readonly logger = new Logger('QueueEvents');
  private pending: Wire[] = [];
  private scheduled = false;
  private warned = false;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    /** This process's token: its own events come back on the channel, and are dropped. */
    readonly origin: string,
    private readonly queues: ReadonlySet<string>,
  ) {}

  wants(e: JobEvent): boolean {
    return e.event !== 'progress' && this.queues.has(e.job.queue);
  }

  add(e: JobEvent): void {
    this.pending.push([JOB_EVENTS.indexOf(e.event), e.job.id, e.job.queue, e.job.name ?? null, e.job.attempt ?? null]);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    for (let i = 0; i < batch.length; i += PER_NOTIFY) {
      const payload = JSON.stringify({ o: this.origin, e: batch.slice(i, i + PER_NOTIFY) });
      this.pool.query('SELECT pg_notify($1, $2)', [this.channel, payload]).catch((err) => {
        // Events are not durable anyway; say so once rather than per batch.
        if (!this.warned) this.logger.warn(`job events not sent to other processes: ${(err as Error).message}`);
        this.warned = true;
      });
    }
  }
}

/** The events in a NOTIFY of another process (none from `origin`, this process). */
export function decodeBroadcast(payload: string, origin: string): JobEvent[] {
  let msg: { o?: unknown; e?: unknown };
  try {
    msg = JSON.parse(payload);
  } catch {
    return [];
  }
  if (msg.o === origin || !Array.isArray(msg.e)) return [];
  const out: JobEvent[] = [];
  for (const w of msg.e as Wire[]) {
    const event = JOB_EVENTS[w?.[0]] as JobEventName | undefined;
    if (!event || typeof w[1] !== 'string' || typeof w[2] !== 'string') continue;
    out.push({ event, remote: true, job: { id: w[1], queue: w[2], ...(w[3] ? { name: w[3] } : {}), ...(typeof w[4] === 'number' ? { attempt: w[4] } : {}) } });
  }
  return out;
}
