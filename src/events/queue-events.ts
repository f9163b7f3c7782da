import { Injectable, Logger } from '@nestjs/common';
import { ProcessorDefinitionError } from '../errors.js';
import { didYouMean } from '../did-you-mean.js';
import { JOB_EVENTS, type JobEvent, type JobEventListener, type JobEventName } from './job-event.js';

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
 * The worker checks `wants()` first, so an app without listeners pays nothing.
 */
@Injectable()
export class QueueEvents {
  private readonly logger = new Logger('QueueEvents');
  private readonly listeners = new Map<JobEventName, Registration[]>();
  private pending: JobEvent[] = [];
  private scheduled = false;

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
    return () => {
      const l = this.listeners.get(event);
      if (l) this.listeners.set(event, l.filter((r) => r !== reg));
    };
  }

  /** Whether any listener wants `event` (cheap: the worker asks before building an event). */
  wants(event: JobEventName): boolean {
    return (this.listeners.get(event)?.length ?? 0) > 0;
  }

  emit(e: JobEvent): void {
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
