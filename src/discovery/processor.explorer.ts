import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { validateBackoff } from '../backoff.js';
import type { HandlerDefinition } from '../consumer/handler-definition.js';
import type { ProcessMetadata } from '../decorators/process.decorator.js';
import type { ProcessorMetadata } from '../decorators/processor.decorator.js';
import { didYouMean } from '../did-you-mean.js';
import { ProcessorDefinitionError, QueueError } from '../errors.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { PROCESS_METADATA, PROCESSOR_METADATA, QUEUE_RESOLVED_OPTIONS } from '../queue.tokens.js';
import { JobSchemas } from '../typing/job-schemas.js';
import { isStandardSchema, type StandardSchemaV1 } from '../typing/standard-schema.js';

const HANDLER_KEYS = new Set(['concurrency', 'maxAttempts', 'backoff', 'timeoutMs', 'schema', 'transaction']);
/** What `@Processor(queue, options)` takes: defaults for its handlers (ProcessorOptions). */
const PROCESSOR_KEYS = new Set(['maxAttempts', 'backoff', 'timeoutMs']);

/**
 * Finds `@Processor` providers and their `@Process` methods. Only reads metadata and validates
 * it; it starts nothing. Errors name the class and method.
 */
@Injectable()
export class ProcessorExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    private readonly schemas: JobSchemas,
  ) {}

  /** Handlers by queue, then by job name. */
  explore(): Map<string, Map<string, HandlerDefinition>> {
    const byQueue = new Map<string, Map<string, HandlerDefinition>>();
    const seen = new Set<unknown>();
    for (const wrapper of this.discovery.getProviders()) {
      const meta = this.processorMetadata(wrapper);
      if (!meta) {
        refuseStrayHandlers(wrapper);
        continue;
      }
      if (seen.has(wrapper.instance)) continue;
      seen.add(wrapper.instance);
      const className = classNameOf(wrapper);
      if (!wrapper.isDependencyTreeStatic()) {
        throw new ProcessorDefinitionError(`@Processor ${className} must not be request-scoped: workers run outside requests`);
      }
      if (!this.options.queues.has(meta.queue)) {
        throw new ProcessorDefinitionError(
          `@Processor(${JSON.stringify(meta.queue)}) on ${className}: queue is not registered; add it to QueueModule.forRoot({ queues })`,
        );
      }
      const handlers = byQueue.get(meta.queue) ?? new Map<string, HandlerDefinition>();
      byQueue.set(meta.queue, handlers);
      const methods: ProcessMetadata[] = Reflect.getMetadata(PROCESS_METADATA, wrapper.metatype as object) ?? [];
      if (methods.length === 0) {
        throw new ProcessorDefinitionError(`@Processor ${className} has no @Process methods`);
      }
      validateProcessorOptions(className, meta.options as Record<string, unknown>);
      for (const m of methods) {
        const label = `${className}.${String(m.methodName)}`;
        const fn = (wrapper.instance as Record<string | symbol, unknown>)[m.methodName];
        if (typeof fn !== 'function') {
          throw new ProcessorDefinitionError(`@Process(${JSON.stringify(m.name)}) on ${label}: ${String(m.methodName)} is not a method`);
        }
        if (typeof m.name !== 'string' || m.name.length === 0) {
          throw new ProcessorDefinitionError(`@Process on ${label}: the job name must be a non-empty string`);
        }
        const existing = handlers.get(m.name);
        if (existing) {
          throw new ProcessorDefinitionError(
            `Two handlers for job "${m.name}" of queue "${meta.queue}": ${existing.label} and ${label}`,
          );
        }
        const options = { ...meta.options, ...m.options } as Record<string, unknown>;
        validateHandlerOptions(label, options);
        handlers.set(m.name, {
          queue: meta.queue,
          name: m.name,
          label,
          callback: (fn as (job: unknown) => unknown).bind(wrapper.instance),
          concurrency: options.concurrency as number | undefined,
          maxAttempts: options.maxAttempts as number | undefined,
          backoff: options.backoff as HandlerDefinition['backoff'],
          timeoutMs: options.timeoutMs as number | undefined,
          schema: options.schema as StandardSchemaV1 | undefined,
          transaction: options.transaction === true,
        });
        if (options.schema) this.schemas.set(meta.queue, m.name, options.schema as StandardSchemaV1);
      }
    }
    return byQueue;
  }

  private processorMetadata(wrapper: InstanceWrapper): ProcessorMetadata | undefined {
    if (!wrapper.metatype || typeof wrapper.metatype !== 'function' || !wrapper.instance) return undefined;
    return Reflect.getMetadata(PROCESSOR_METADATA, wrapper.metatype);
  }
}

function classNameOf(wrapper: InstanceWrapper): string {
  return (wrapper.metatype as { name?: string })?.name ?? String(wrapper.name);
}

/** `@Process` methods on a class without `@Processor` would never run: refuse them at bootstrap. */
function refuseStrayHandlers(wrapper: InstanceWrapper): void {
  if (!wrapper.metatype || typeof wrapper.metatype !== 'function') return;
  const methods: ProcessMetadata[] | undefined = Reflect.getMetadata(PROCESS_METADATA, wrapper.metatype);
  if (!methods?.length) return;
  const className = classNameOf(wrapper);
  const names = methods.map((m) => `${String(m.methodName)} (@Process(${JSON.stringify(m.name)}))`).join(', ');
  throw new ProcessorDefinitionError(
    `${className} has @Process methods but no @Processor: ${names} would never run. ` +
      `Add @Processor('<queue>') to the class ${className}.`,
  );
}

/**
 * Concurrency is per queue (in a process) or per handler; a processor-wide value would read as a
 * cap on the class, which it never was, so it is refused with where it belongs.
 */
function validateProcessorOptions(className: string, options: Record<string, unknown> | undefined): void {
  for (const key of Object.keys(options ?? {})) {
    if (key === 'concurrency') {
      throw new ProcessorDefinitionError(
        `@Processor on ${className}: "concurrency" is not a processor option; set it for the queue ` +
          '(QueueModule.forRoot({ queues: [{ name, concurrency }] })) or for one handler (@Process(name, { concurrency }))',
      );
    }
    if (!PROCESSOR_KEYS.has(key)) {
      throw new ProcessorDefinitionError(`@Processor on ${className}: "${key}" is not a processor option${didYouMean(key, PROCESSOR_KEYS)}`);
    }
  }
}

function validateHandlerOptions(label: string, options: Record<string, unknown>): void {
  for (const key of Object.keys(options)) {
    if (!HANDLER_KEYS.has(key)) throw new ProcessorDefinitionError(`${label}: "${key}" is not a handler option${didYouMean(key, HANDLER_KEYS)}`);
  }
  for (const key of ['concurrency', 'maxAttempts', 'timeoutMs']) {
    const v = options[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)) {
      throw new ProcessorDefinitionError(`${label}: ${key} must be an integer >= 1`);
    }
  }
  if (options.transaction !== undefined && typeof options.transaction !== 'boolean') {
    throw new ProcessorDefinitionError(`${label}: transaction must be a boolean`);
  }
  if (options.schema !== undefined && !isStandardSchema(options.schema)) {
    throw new ProcessorDefinitionError(`${label}: schema must be a Standard Schema (zod 4, valibot, arktype, …): an object with a "~standard" property`);
  }
  if (options.backoff !== undefined) {
    try {
      validateBackoff('backoff', options.backoff);
    } catch (err) {
      throw new ProcessorDefinitionError(`${label}: ${(err as QueueError).message}`);
    }
  }
}
