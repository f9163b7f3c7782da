import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { poolTarget } from '../db/connection-errors.js';
import { OutageReporter } from '../outage/outage-reporter.js';
import { jobsChannel, quoteIdent } from '../db/identifier.js';
import { LocalWorkers } from '../direct-start/local-workers.js';
import { InvalidJobError } from '../errors.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from '../queue.tokens.js';
import { poolMax } from '../db/pool-max.js';
import { PushLimiter, pushLimitFor } from './push-limiter.js';
import { QueueSink } from './queue-sink.js';
import { JobSchemas } from '../typing/job-schemas.js';

/** The sinks of every registered queue; `sink(name)` for code that picks the queue at runtime. */
@Injectable()
export class QueueRegistry {
  private readonly sinks = new Map<string, QueueSink>();

  constructor(
    @Inject(QUEUE_POOL) pool: Pool,
    @Inject(QUEUE_RESOLVED_OPTIONS) options: ResolvedQueueOptions,
    @Inject(QUEUE_SCHEMA_READY) _ready: true,
    localWorkers: LocalWorkers,
    outage: OutageReporter,
    schemas: JobSchemas,
  ) {
    const limiter = new PushLimiter(pushLimitFor(poolMax(pool), options.workers));
    const ctx = {
      pool,
      schema: options.schema,
      schemaSql: quoteIdent(options.schema),
      maxPayloadBytes: options.maxPayloadBytes,
      preparedStatements: options.preparedStatements,
      localWorkers,
      limiter,
      outage,
      target: poolTarget(options.connection, pool),
      telemetry: options.telemetry,
      ambient: options.ambientTransactions,
      schemas,
    };
    const handOff = { leaseMs: options.orphanTimeoutMs, channel: jobsChannel(options.schema) };
    for (const [name, config] of options.queues) this.sinks.set(name, new QueueSink(name, config.directStart ? { ...ctx, handOff } : ctx));
  }

  /** The sink of `queue`. @throws InvalidJobError (field "queue") when the queue is not registered. */
  sink(queue: string): QueueSink {
    const sink = this.sinks.get(queue);
    if (!sink) {
      throw new InvalidJobError('queue', `${JSON.stringify(queue)} is not a registered queue (known: ${[...this.sinks.keys()].join(', ')})`);
    }
    return sink;
  }

  get queues(): string[] {
    return [...this.sinks.keys()];
  }
}
