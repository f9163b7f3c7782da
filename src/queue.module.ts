import { Logger, Module, Scope, type DynamicModule, type FactoryProvider, type ModuleMetadata, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import pg from 'pg';
import { QueueAdmin } from './admin/queue-admin.js';
import { LocalWorkers } from './direct-start/local-workers.js';
import { withBootRetry } from './db/boot-retry.js';
import { poolTarget } from './db/connection-errors.js';
import { Migrator } from './db/migrator.js';
import { quoteIdent } from './db/identifier.js';
import { startPausedSql } from './db/sql/queues.js';
import { checkPreparedStatements } from './db/prepared-statements.js';
import { checkServerVersion } from './db/server-version.js';
import { ProcessorExplorer } from './discovery/processor.explorer.js';
import { requestedSinkQueues } from './decorators/inject-sink.decorator.js';
import { UnknownQueueError } from './errors.js';
import { JobEventExplorer } from './events/job-event.explorer.js';
import { QueueEvents } from './events/queue-events.js';
import { TelemetryHost } from './telemetry/telemetry-host.js';
import { JobSchemas } from './typing/job-schemas.js';
import { NotifyBus } from './notify/notify-bus.js';
import { OutageReporter } from './outage/outage-reporter.js';
import { RetentionService } from './retention/retention.service.js';
import { QueueSchedules } from './schedules/queue-schedules.js';
import { QueueRegistry } from './producer/queue-registry.js';
import { QueueOrchestrator } from './queue.orchestrator.js';
import { resolveQueueOptions, type QueueModuleOptions, type ResolvedQueueOptions } from './queue.options.js';
import { getSinkToken, QUEUE_MODULE_OPTIONS, QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from './queue.tokens.js';

export interface QueueModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: any[]) => QueueModuleOptions | Promise<QueueModuleOptions>;
  inject?: FactoryProvider['inject'];
}

const coreProviders: Provider[] = [
  {
    provide: QUEUE_RESOLVED_OPTIONS,
    useFactory: (options: QueueModuleOptions) => resolveQueueOptions(options),
    inject: [QUEUE_MODULE_OPTIONS],
  },
  {
    provide: QUEUE_POOL,
    useFactory: (options: ResolvedQueueOptions) => {
      if (options.pool) return options.pool;
      // Idle connections do not hold the process: a boot that fails later (in any module) or a
      // script that never closes the app can exit. Running workers' timers keep a worker alive.
      const pool = new pg.Pool({ allowExitOnIdle: true, ...options.connection });
      // An idle client's error (say the server restarted) must not crash the process; the pool drops it.
      pool.on('error', () => undefined);
      return pool;
    },
    inject: [QUEUE_RESOLVED_OPTIONS],
  },
  {
    provide: QUEUE_SCHEMA_READY,
    useFactory: async (options: ResolvedQueueOptions, pool: pg.Pool) => {
      const migrator = new Migrator(pool, options.schema);
      const target = poolTarget(options.connection, pool);
      try {
        // Every step is safe to repeat: each migration is a transaction of its own, recorded in it.
        await withBootRetry(
          async () => {
            await checkServerVersion(pool);
            if (options.migrate) await migrator.migrate();
            else await migrator.verify();
            if (options.preparedStatements) await checkPreparedStatements(pool);
            const startPaused = [...options.queues.values()].filter((q) => q.startPaused).map((q) => q.name);
            if (startPaused.length > 0) await pool.query(startPausedSql(quoteIdent(options.schema)), [startPaused]);
          },
          options.bootRetry,
          { target, schema: options.schema, logger: new Logger('QueueModule') },
        );
      } catch (err) {
        // Bootstrap fails here and no shutdown hook will run: close the pool we created.
        if (!options.pool) await pool.end().catch(() => undefined);
        throw err;
      }
      return true;
    },
    inject: [QUEUE_RESOLVED_OPTIONS, QUEUE_POOL],
  },
  {
    provide: OutageReporter,
    useFactory: (options: ResolvedQueueOptions, pool: pg.Pool) =>
      new OutageReporter(poolTarget(options.connection, pool), options.outageLogIntervalMs),
    inject: [QUEUE_RESOLVED_OPTIONS, QUEUE_POOL],
  },
  {
    provide: NotifyBus,
    useFactory: (options: ResolvedQueueOptions, pool: pg.Pool, outage: OutageReporter) =>
      new NotifyBus({
        outage,
        connection: options.listenConnection ?? options.connection ?? (pool as unknown as { options: pg.ClientConfig }).options,
        // The delivery probe's NOTIFY goes the way the insert trigger's do: through the queue's pool.
        notify: async (channel, payload) => void (await pool.query('SELECT pg_notify($1, $2)', [channel, payload])),
      }),
    inject: [QUEUE_RESOLVED_OPTIONS, QUEUE_POOL, OutageReporter],
  },
  LocalWorkers,
  QueueEvents,
  JobEventExplorer,
  QueueRegistry,
  QueueAdmin,
  RetentionService,
  QueueSchedules,
  ProcessorExplorer,
  QueueOrchestrator,
  TelemetryHost,
  JobSchemas,
];

/**
 * A provider for each queue an `@InjectSink` asked for that `forRoot` does not register. Transient:
 * Nest builds it only for a class that injects it, so a decorated class the app does not use
 * costs nothing, and one it does use fails the boot with {@link UnknownQueueError}.
 */
function unknownSinkProviders(registered: string[]): Provider[] {
  return [...requestedSinkQueues()]
    .filter((queue) => !registered.includes(queue))
    .map((queue) => ({
      provide: getSinkToken(queue),
      scope: Scope.TRANSIENT,
      useFactory: () => {
        throw new UnknownQueueError(queue, registered);
      },
    }));
}

function sinkProviders(queues: string[]): Provider[] {
  return queues.map((queue) => ({
    provide: getSinkToken(queue),
    useFactory: (registry: QueueRegistry) => registry.sink(queue),
    inject: [QueueRegistry],
  }));
}

const coreExports = [QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, NotifyBus, QueueRegistry, QueueAdmin, QueueOrchestrator, RetentionService, QueueSchedules, QueueEvents];

/**
 * The queue's Nest module. `forRoot` / `forRootAsync` register it globally: the pool, the
 * migrator, one NotifyBus, a QueueSink per queue, the processor explorer and the workers.
 */
@Module({})
export class QueueModule {
  static forRoot(options: QueueModuleOptions): DynamicModule {
    // Validate now too, so a bad option fails at the call site and sink tokens can be listed.
    const resolved = resolveQueueOptions(options);
    const registered = [...resolved.queues.keys()];
    const sinks = [...sinkProviders(registered), ...unknownSinkProviders(registered)];
    return {
      module: QueueModule,
      global: true,
      imports: [DiscoveryModule],
      providers: [{ provide: QUEUE_MODULE_OPTIONS, useValue: options }, ...coreProviders, ...sinks],
      exports: [...coreExports, ...sinks],
    };
  }

  /**
   * Options from a factory (say from ConfigService). Queue names are then known only at runtime,
   * so inject sinks with `QueueModule.forFeature('emails')` (for `@InjectSink`) or `QueueRegistry.sink()`.
   */
  static forRootAsync(options: QueueModuleAsyncOptions): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      providers: [
        { provide: QUEUE_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        ...coreProviders,
      ],
      exports: coreExports,
    };
  }

  /** Registers `@InjectSink(queue)` providers for queues of a `forRootAsync` module. */
  static forFeature(...queues: string[]): DynamicModule {
    const sinks = sinkProviders(queues);
    return { module: QueueModule, providers: sinks, exports: sinks };
  }
}

