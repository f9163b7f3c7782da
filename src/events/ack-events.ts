import type { Ack } from '../consumer/acker.js';
import type { JobEvent } from './job-event.js';
import type { QueueEvents } from './queue-events.js';

/** The events of an attempt whose ack landed (a fenced-out ack changed nothing, so it says nothing). */
export function emitAckEvents(events: QueueEvents, ack: Ack): void {
  const job = { id: ack.id, queue: ack.queue, name: ack.name, attempt: ack.attempt };
  const durationMs = Math.round(ack.durationMs * 1000) / 1000;
  const emit = (e: Omit<JobEvent, 'job' | 'durationMs'>) => events.emit({ ...e, job, durationMs });
  switch (ack.status) {
    case 'done':
      // The result is parsed only for a listener here; another process reads it from the row.
      emit({ event: 'completed', result: ack.result !== null && events.wants('completed') ? JSON.parse(ack.result) : undefined });
      return;
    case 'snoozed':
      emit({ event: 'snoozed', delayMs: ack.retryDelayMs });
      return;
    case 'retrying':
    case 'killed':
      emit({ event: 'failed', error: ack.error ?? undefined });
      if (ack.status === 'retrying') emit({ event: 'retrying', error: ack.error ?? undefined, delayMs: ack.retryDelayMs });
      else emit({ event: 'killed', error: ack.error ?? undefined });
  }
}
