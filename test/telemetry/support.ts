import { context, trace, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { waitFor } from '../helpers/wait.js';

/**
 * A tracer provider that keeps every finished span in memory (the SDK's InMemorySpanExporter),
 * with the AsyncLocalStorage context manager an app's SDK registers, so context follows awaits.
 */
export function memoryTracing(): { provider: BasicTracerProvider; exporter: InMemorySpanExporter; dispose: () => Promise<void> } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return {
    provider,
    exporter,
    dispose: async () => {
      await provider.shutdown();
      context.disable();
    },
  };
}

export function spansNamed(exporter: InMemorySpanExporter, name: string, where: (s: ReadableSpan) => boolean = () => true): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.name === name && where(s));
}

/** Waits until `count` spans called `name` (and matching `where`) have ended. */
export function waitForSpans(exporter: InMemorySpanExporter, name: string, count: number, where?: (s: ReadableSpan) => boolean): Promise<ReadableSpan[]> {
  return waitFor(`${count} "${name}" span(s)`, () => {
    const found = spansNamed(exporter, name, where);
    return found.length >= count ? found : null;
  });
}

export const jobIdOf = (s: ReadableSpan): unknown => s.attributes['messaging.message.id'];

/** The W3C traceparent a span's context is written as. */
export function traceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.traceFlags.toString(16).padStart(2, '0')}`;
}

/** Runs `fn` inside a span of `provider` (standing for an HTTP request's), returning both. */
export async function inRequestSpan<T>(provider: BasicTracerProvider, fn: () => Promise<T>): Promise<{ value: T; request: SpanContext }> {
  const span = provider.getTracer('test').startSpan('POST /signup');
  try {
    const value = await context.with(trace.setSpan(context.active(), span), fn);
    return { value, request: span.spanContext() };
  } finally {
    span.end();
  }
}
