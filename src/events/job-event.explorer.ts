import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { ProcessorMetadata } from '../decorators/processor.decorator.js';
import { ProcessorDefinitionError } from '../errors.js';
import { ON_JOB_EVENT_METADATA, PROCESSOR_METADATA } from '../queue.tokens.js';
import type { JobEvent } from './job-event.js';
import type { OnJobEventMetadata } from './on-job-event.decorator.js';
import { checkEventName, QueueEvents } from './queue-events.js';

/** Finds `@OnJobEvent` methods at module init and subscribes them to QueueEvents. */
@Injectable()
export class JobEventExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly events: QueueEvents,
  ) {}

  onModuleInit(): void {
    const seen = new Set<unknown>();
    for (const wrapper of this.discovery.getProviders()) {
      const type = wrapper.metatype;
      if (!type || typeof type !== 'function' || !wrapper.instance || seen.has(wrapper.instance)) continue;
      const list: OnJobEventMetadata[] | undefined = Reflect.getMetadata(ON_JOB_EVENT_METADATA, type);
      if (!list?.length) continue;
      seen.add(wrapper.instance);
      const processor: ProcessorMetadata | undefined = Reflect.getMetadata(PROCESSOR_METADATA, type);
      for (const m of list) {
        const label = `@OnJobEvent on ${type.name}.${String(m.methodName)}`;
        checkEventName(m.event, label);
        const fn = (wrapper.instance as Record<string | symbol, unknown>)[m.methodName];
        if (typeof fn !== 'function') throw new ProcessorDefinitionError(`${label}: ${String(m.methodName)} is not a method`);
        const queue = m.queue ?? processor?.queue;
        this.events.on(m.event, (e: JobEvent) => (fn as (e: JobEvent) => unknown).call(wrapper.instance, e), { queue, label });
      }
    }
  }
}
