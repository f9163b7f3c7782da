import { Injectable, type Type } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { HandlerDefinition } from '../consumer/handler-definition.js';
import type { ProcessorMetadata } from '../decorators/processor.decorator.js';
import { ProcessorExplorer } from '../discovery/processor.explorer.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { PROCESSOR_METADATA } from '../queue.tokens.js';
import { JobSchemas } from '../typing/job-schemas.js';

/**
 * The app's `@Processor` / `@Process` handlers, found by the real ProcessorExplorer (so a
 * declaration the real module refuses is refused here too). Explored lazily, on the first push or
 * drain: by then Nest has created every provider, and a push from an `onModuleInit` still works.
 */
@Injectable()
export class HandlerCatalog {
  private byQueue?: Map<string, Map<string, HandlerDefinition>>;
  private readonly schemas = new JobSchemas();

  constructor(private readonly discovery: DiscoveryService) {}

  /** `queues`: the registered names; the explorer only reads `options.queues`. */
  load(queues: ReadonlyMap<string, unknown>): void {
    if (this.byQueue) return;
    const options = { queues } as unknown as ResolvedQueueOptions;
    this.byQueue = new ProcessorExplorer(this.discovery, options, this.schemas).explore();
  }

  handler(queue: string, name: string): HandlerDefinition | undefined {
    return this.byQueue?.get(queue)?.get(name);
  }

  schema(queue: string, name: string) {
    return this.schemas.get(queue, name);
  }

  /** The handler of `name` on `processor`'s queue. @throws Error naming what exists. */
  handlerOf(processor: Type, name: string): HandlerDefinition {
    const meta: ProcessorMetadata | undefined = Reflect.getMetadata(PROCESSOR_METADATA, processor);
    if (!meta) throw new Error(`${processor.name} has no @Processor decorator`);
    const found = this.handler(meta.queue, name);
    if (found && found.label.startsWith(`${processor.name}.`)) return found;
    const known = [...(this.byQueue?.get(meta.queue)?.values() ?? [])].filter((h) => h.label.startsWith(`${processor.name}.`)).map((h) => h.name);
    throw new Error(`${processor.name} has no @Process(${JSON.stringify(name)}) handler in this app (it has: ${known.join(', ') || 'none'}); is it a provider of an imported module?`);
  }
}
