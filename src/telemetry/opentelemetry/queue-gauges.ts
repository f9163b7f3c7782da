import { Logger } from '@nestjs/common';
import type { BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import { queueGaugesSql } from '../../db/sql/queue-gauges.js';
import type { TelemetryContext } from '../telemetry-port.js';
import * as A from './attributes.js';

interface GaugeRow {
  queue: string;
  due: number;
  scheduled: number;
  running: number;
  oldest_due_ms: number | null;
}

/**
 * Observable gauges of each queue's backlog, all fed by one query that runs only when a metric
 * reader collects and at most every `intervalMs` (collections in between reuse the last answer;
 * concurrent ones share the query in flight). A failed read (the database down) reports nothing
 * for that collection and is logged once until a read succeeds again.
 * States: idle -> started (callback registered) -> idle (stop).
 */
export class QueueGauges {
  private readonly logger = new Logger('QueueTelemetry');
  private readonly observables: Observable[];
  private readonly pending: Observable;
  private readonly scheduled: Observable;
  private readonly running: Observable;
  private readonly oldest: Observable;
  private context: TelemetryContext | null = null;
  private last: { at: number; rows: GaugeRow[] } | null = null;
  private inFlight: Promise<GaugeRow[]> | null = null;
  private failing = false;
  private readonly callback: BatchObservableCallback = (result) => this.observe(result);

  constructor(
    private readonly meter: Meter,
    private readonly intervalMs: number,
  ) {
    this.pending = meter.createObservableGauge('nestjs_pg_queue.queue.pending', { unit: '{job}', description: 'Jobs due and waiting for a worker' });
    this.scheduled = meter.createObservableGauge('nestjs_pg_queue.queue.scheduled', {
      unit: '{job}',
      description: 'Jobs waiting for a later run_at (delays, retry backoff)',
    });
    this.running = meter.createObservableGauge('nestjs_pg_queue.queue.running', { unit: '{job}', description: 'Jobs running (claimed by a worker)' });
    this.oldest = meter.createObservableGauge('nestjs_pg_queue.queue.oldest_pending_age', {
      unit: 's',
      description: 'How long the oldest due job has waited (the lag); 0 when none is due',
    });
    this.observables = [this.pending, this.scheduled, this.running, this.oldest];
  }

  start(context: TelemetryContext): void {
    if (this.context) return;
    this.context = context;
    this.meter.addBatchObservableCallback(this.callback, this.observables);
  }

  stop(): void {
    if (!this.context) return;
    this.meter.removeBatchObservableCallback(this.callback, this.observables);
    this.context = null;
    this.last = null;
  }

  private async observe(result: Parameters<BatchObservableCallback>[0]): Promise<void> {
    let rows: GaugeRow[];
    try {
      rows = await this.read();
    } catch (err) {
      if (!this.failing) this.logger.warn(`queue gauges not reported: ${(err as Error)?.message ?? String(err)} (logged once until a read succeeds)`);
      this.failing = true;
      return;
    }
    if (this.failing) this.logger.log('queue gauges reported again');
    this.failing = false;
    for (const row of rows) {
      const attributes = { [A.MESSAGING_SYSTEM]: A.SYSTEM, [A.DESTINATION]: row.queue };
      result.observe(this.pending, row.due, attributes);
      result.observe(this.scheduled, row.scheduled, attributes);
      result.observe(this.running, row.running, attributes);
      result.observe(this.oldest, Math.max(0, row.oldest_due_ms ?? 0) / 1000, attributes);
    }
  }

  private read(): Promise<GaugeRow[]> {
    const ctx = this.context;
    if (!ctx) return Promise.resolve([]);
    if (this.last && Date.now() - this.last.at < this.intervalMs) return Promise.resolve(this.last.rows);
    this.inFlight ??= ctx.pool
      .query<GaugeRow>(queueGaugesSql(ctx.schemaSql), [ctx.queues])
      .then((r) => {
        this.last = { at: Date.now(), rows: r.rows };
        return r.rows;
      })
      .finally(() => (this.inFlight = null));
    return this.inFlight;
  }
}
