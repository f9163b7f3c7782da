import { createRequire } from 'node:module';
import { metrics, trace, type MeterProvider, type TracerProvider } from '@opentelemetry/api';
import { didYouMean } from '../../did-you-mean.js';
import { InvalidQueueOptionsError } from '../../errors.js';
import { describe } from '../../queue-name.js';
import type { AttemptInfo, AttemptScope, LandedOutcome, PushInfo, PushScope, QueueTelemetry, TelemetryContext } from '../telemetry-port.js';
import { SCOPE } from './attributes.js';
import { JobMetrics } from './job-metrics.js';
import { JobTracing, type ProducerContextMode } from './job-tracing.js';
import { QueueGauges } from './queue-gauges.js';
import { withTraceContext } from './trace-context.js';

export interface OpenTelemetryOptions {
  /** Spans of pushes and attempts. Default true. */
  traces?: boolean;
  /** Counters and histograms of pushes and outcomes. Default true. */
  metrics?: boolean;
  /**
   * Observable gauges of each queue's backlog (pending, scheduled, running, oldest pending age),
   * read from the database at most every `gaugeIntervalMs` when a metric reader collects. Default
   * true when `metrics` is; turn it off in all but one service if many report the same queues.
   */
  gauges?: boolean;
  /** The least time between two gauge reads, in ms. Default 5000. */
  gaugeIntervalMs?: number;
  /** `link` (default): each attempt's span starts its own trace, linked to the push's. `parent`: it is the push span's child. */
  producerContext?: ProducerContextMode;
  /** Default: the global tracer provider (the SDK's, once registered; a no-op until then). */
  tracerProvider?: TracerProvider;
  /** Default: the global meter provider. */
  meterProvider?: MeterProvider;
}

const KEYS = ['traces', 'metrics', 'gauges', 'gaugeIntervalMs', 'producerContext', 'tracerProvider', 'meterProvider'];

/**
 * The OpenTelemetry adapter for the module's `telemetry` option:
 * `QueueModule.forRoot({ ..., telemetry: openTelemetry() })`. Uses `@opentelemetry/api` only, so
 * it reports to whatever SDK the app registers, and costs next to nothing when none is.
 * @throws InvalidQueueOptionsError for a bad option, naming it.
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): QueueTelemetry {
  return new OpenTelemetryAdapter(resolve(options));
}

interface Resolved {
  traces: boolean;
  metrics: boolean;
  gauges: boolean;
  gaugeIntervalMs: number;
  producerContext: ProducerContextMode;
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
}

function resolve(options: OpenTelemetryOptions): Resolved {
  const at = (k: string) => `telemetry.${k}`;
  if (options === null || typeof options !== 'object') throw new InvalidQueueOptionsError('telemetry', `openTelemetry() takes an options object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) throw new InvalidQueueOptionsError(at(key), `is not an openTelemetry() option${didYouMean(key, KEYS)}`);
  }
  for (const flag of ['traces', 'metrics', 'gauges'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') throw new InvalidQueueOptionsError(at(flag), `must be a boolean, got ${describe(options[flag])}`);
  }
  const interval = options.gaugeIntervalMs ?? 5000;
  if (typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval < 0) {
    throw new InvalidQueueOptionsError(at('gaugeIntervalMs'), `must be an integer >= 0, got ${describe(interval)}`);
  }
  const mode = options.producerContext ?? 'link';
  if (mode !== 'link' && mode !== 'parent') throw new InvalidQueueOptionsError(at('producerContext'), `must be 'link' or 'parent', got ${describe(mode)}`);
  if (options.tracerProvider !== undefined && typeof options.tracerProvider?.getTracer !== 'function') {
    throw new InvalidQueueOptionsError(at('tracerProvider'), 'must be an OpenTelemetry TracerProvider (with getTracer)');
  }
  if (options.meterProvider !== undefined && typeof options.meterProvider?.getMeter !== 'function') {
    throw new InvalidQueueOptionsError(at('meterProvider'), 'must be an OpenTelemetry MeterProvider (with getMeter)');
  }
  const withMetrics = options.metrics ?? true;
  return {
    traces: options.traces ?? true,
    metrics: withMetrics,
    gauges: withMetrics && (options.gauges ?? true),
    gaugeIntervalMs: interval,
    producerContext: mode,
    tracerProvider: options.tracerProvider ?? trace.getTracerProvider(),
    meterProvider: options.meterProvider ?? metrics.getMeterProvider(),
  };
}

function version(): string | undefined {
  try {
    // Three levels up from src/telemetry/opentelemetry and from dist/telemetry/opentelemetry alike.
    return (createRequire(import.meta.url)('../../../package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

class OpenTelemetryAdapter implements QueueTelemetry {
  private readonly tracing: JobTracing | null;
  private readonly metrics: JobMetrics | null;
  private readonly gauges: QueueGauges | null;

  constructor(o: Resolved) {
    const v = version();
    this.tracing = o.traces ? new JobTracing(o.tracerProvider.getTracer(SCOPE, v), o.producerContext) : null;
    const meter = o.metrics ? o.meterProvider.getMeter(SCOPE, v) : null;
    this.metrics = meter ? new JobMetrics(meter) : null;
    this.gauges = meter && o.gauges ? new QueueGauges(meter, o.gaugeIntervalMs) : null;
  }

  pushing(push: PushInfo): PushScope | null {
    const { tracing, metrics } = this;
    const span = tracing?.startSend(push) ?? null;
    if (!span && !metrics) return null;
    return {
      metadata: (json) => (span ? withTraceContext(json, span.spanContext()) : json),
      run: (fn) => (span ? tracing!.runIn(span, fn) : fn()),
      end: (ids, error) => {
        if (span) tracing!.endSend(span, ids, error);
        if (ids) metrics?.pushedJobs(push, ids.length);
      },
    };
  }

  attempt(info: AttemptInfo): AttemptScope | null {
    this.metrics?.started(info);
    const tracing = this.tracing;
    if (!tracing) return null;
    const span = tracing.startProcess(info);
    return {
      run: (fn) => tracing.runIn(span, fn),
      end: (status, error) => tracing.endProcess(span, status, error),
    };
  }

  landed(outcome: LandedOutcome): void {
    this.metrics?.landed(outcome);
  }

  start(context: TelemetryContext): void {
    this.gauges?.start(context);
  }

  stop(): void {
    this.gauges?.stop();
  }
}
