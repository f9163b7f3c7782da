import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import type { Pool } from 'pg';
import { quoteIdent } from '../db/identifier.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS } from '../queue.tokens.js';

/**
 * Starts and stops the module's telemetry adapter (the `telemetry` option) with the app. Without
 * the option it does nothing. An adapter that throws never stops the app: it is logged once.
 */
@Injectable()
export class TelemetryHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('QueueTelemetry');
  private started = false;

  constructor(
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    @Inject(QUEUE_POOL) private readonly pool: Pool,
  ) {}

  onApplicationBootstrap(): void {
    const telemetry = this.options.telemetry;
    if (!telemetry || this.started) return;
    try {
      telemetry.start({ pool: this.pool, schemaSql: quoteIdent(this.options.schema), queues: [...this.options.queues.keys()] });
      this.started = true;
    } catch (err) {
      this.logger.error(`the telemetry adapter failed to start: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  beforeApplicationShutdown(): void {
    if (!this.started) return;
    this.started = false;
    try {
      this.options.telemetry!.stop();
    } catch (err) {
      this.logger.error(`the telemetry adapter failed to stop: ${(err as Error)?.message ?? String(err)}`);
    }
  }
}
