import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Pool } from 'pg';
import { quoteIdent } from '../db/identifier.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS, QUEUE_SCHEMA_READY } from '../queue.tokens.js';
import { OutageReporter } from '../outage/outage-reporter.js';
import { Pruner, pruneGroups } from './pruner.js';

/**
 * Runs the Pruner in worker processes (`workers: true`), for the queues this module registers:
 * finished jobs of other queues are never touched. A producer-only process does not prune.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private pruner: Pruner | null = null;

  constructor(
    @Inject(QUEUE_POOL) private readonly pool: Pool,
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    @Inject(QUEUE_SCHEMA_READY) _ready: true,
    private readonly outage: OutageReporter,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.workers || this.pruner) return;
    const retention = new Map([...this.options.queues.values()].map((q) => [q.name, q.retention]));
    this.pruner = new Pruner(this.pool, quoteIdent(this.options.schema), this.options.schema, pruneGroups(retention), this.options.pruneIntervalMs, this.outage);
    this.pruner.start();
  }

  /** Prunes now (a round, or the one under way): for operators and tests. */
  pruneNow(): Promise<void> {
    return this.pruner?.pruneNow() ?? Promise.resolve();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.pruner?.stop();
    this.pruner = null;
  }
}
