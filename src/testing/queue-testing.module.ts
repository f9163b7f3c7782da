import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { InvalidJobError } from '../errors.js';
import { QueueRegistry } from '../producer/queue-registry.js';
import { getSinkToken } from '../queue.tokens.js';
import { HandlerCatalog } from './handler-catalog.js';
import { QueueTester } from './queue-tester.js';
import { TestingSink } from './testing-sink.js';
import { QUEUE_TESTING_OPTIONS, resolveTestingOptions, type QueueTestingModuleOptions } from './testing-options.js';

/**
 * Replaces `QueueModule.forRoot()` in tests: the same sink tokens (so `@InjectSink` and
 * `QueueRegistry` work unchanged), backed by memory instead of Postgres. No pool, no workers, no
 * timers: an app built with it opens nothing the queue would have to close.
 */
@Module({})
export class QueueTestingModule {
  static forRoot(options: QueueTestingModuleOptions): DynamicModule {
    const resolved = resolveTestingOptions(options);
    const names = [...resolved.queues.keys()];
    const sinks: Provider[] = names.map((queue) => ({
      provide: getSinkToken(queue),
      useFactory: (tester: QueueTester) => new TestingSink(queue, tester, resolved.maxPayloadBytes),
      inject: [QueueTester],
    }));
    const registry: Provider = {
      provide: QueueRegistry,
      useFactory: (...all: TestingSink[]) => new TestingRegistry(new Map(all.map((s) => [s.queue, s]))),
      inject: names.map(getSinkToken),
    };
    return {
      module: QueueTestingModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [{ provide: QUEUE_TESTING_OPTIONS, useValue: resolved }, HandlerCatalog, QueueTester, registry, ...sinks],
      exports: [QueueTester, QueueRegistry, ...sinks.map((s) => (s as { provide: string }).provide)],
    };
  }
}

/** QueueRegistry's public surface over the testing sinks; the same error for an unknown queue. */
class TestingRegistry {
  constructor(private readonly sinks: Map<string, TestingSink>) {}

  sink(queue: string): TestingSink {
    const sink = this.sinks.get(queue);
    if (!sink) throw new InvalidJobError('queue', `${JSON.stringify(queue)} is not a registered queue (known: ${[...this.sinks.keys()].join(', ')})`);
    return sink;
  }

  get queues(): string[] {
    return [...this.sinks.keys()];
  }
}
