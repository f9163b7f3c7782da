import type { DiscoveryService } from '@nestjs/core';
import type { ProcessMetadata } from '../decorators/process.decorator.js';
import type { ProcessorMetadata } from '../decorators/processor.decorator.js';
import { didYouMean } from '../did-you-mean.js';
import { InvalidQueueOptionsError, ProcessorDefinitionError } from '../errors.js';
import { CRON_METADATA, PROCESS_METADATA, PROCESSOR_METADATA } from '../queue.tokens.js';
import type { CronMetadata } from './cron.decorator.js';
import { CRON_OPTION_KEYS, defineSchedule, type ScheduleDefinition } from './schedule-definition.js';

/** The schedules declared with @Cron on the app's @Process methods. */
export function exploreCronSchedules(discovery: DiscoveryService): ScheduleDefinition[] {
  const out: ScheduleDefinition[] = [];
  const seen = new Set<unknown>();
  for (const wrapper of discovery.getProviders()) {
    const type = wrapper.metatype;
    if (!type || typeof type !== 'function' || seen.has(type)) continue;
    const crons: CronMetadata[] | undefined = Reflect.getMetadata(CRON_METADATA, type);
    if (!crons?.length) continue;
    seen.add(type);
    const className = type.name;
    const processor: ProcessorMetadata | undefined = Reflect.getMetadata(PROCESSOR_METADATA, type);
    const methods: ProcessMetadata[] = Reflect.getMetadata(PROCESS_METADATA, type) ?? [];
    for (const c of crons) {
      const label = `${className}.${String(c.methodName)}`;
      const process = methods.find((m) => m.methodName === c.methodName);
      if (!processor || !process) {
        throw new ProcessorDefinitionError(`@Cron on ${label}: it must be on a @Process method of a @Processor class (the job it enqueues is that handler's)`);
      }
      for (const k of Object.keys(c.options ?? {})) {
        if (!CRON_OPTION_KEYS.includes(k)) throw new InvalidQueueOptionsError(`@Cron on ${label}.${k}`, `is not a @Cron option${didYouMean(k, CRON_OPTION_KEYS)}`);
      }
      const input = { key: `${processor.queue}:${process.name}`, ...c.options, cron: c.cron, queue: processor.queue, name: process.name };
      out.push(defineSchedule(input as Record<string, unknown>, `@Cron on ${label}`, [...CRON_OPTION_KEYS, 'cron', 'queue', 'name']));
    }
  }
  return out;
}
