import { ON_JOB_EVENT_METADATA } from '../queue.tokens.js';
import type { JobEventName } from './job-event.js';

export interface OnJobEventMetadata {
  methodName: string | symbol;
  event: JobEventName;
  queue?: string;
}

/**
 * Calls this method with each `event` (a JobEvent) of the class's `@Processor` queue, or, on any
 * other provider, of `options.queue` (every queue when absent). An unknown event name fails the
 * bootstrap with ProcessorDefinitionError.
 */
export function OnJobEvent(event: JobEventName, options: { queue?: string } = {}): MethodDecorator {
  return (target: object, methodName: string | symbol) => {
    const ctor = target.constructor;
    const list: OnJobEventMetadata[] = Reflect.getOwnMetadata(ON_JOB_EVENT_METADATA, ctor) ?? [...(Reflect.getMetadata(ON_JOB_EVENT_METADATA, ctor) ?? [])];
    list.push({ methodName, event, queue: options.queue });
    Reflect.defineMetadata(ON_JOB_EVENT_METADATA, list, ctor);
  };
}
