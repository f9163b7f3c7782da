import { createTraceState, isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/**
 * The W3C trace context (https://www.w3.org/TR/trace-context/) of a push, kept in the job's
 * `metadata` as `traceparent` (and `tracestate` when there is one), so the process that runs the
 * job, whichever it is and however late, can link its span to the push's. Written here rather
 * than through the global propagator: the row must carry W3C fields whatever propagators the app
 * configured for HTTP, and a job pushed with no SDK installed carries nothing.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export function traceparentOf(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * `json` (the metadata object's JSON text) with the context added; unchanged when the context is
 * not valid (no SDK: nothing to link to) or when the caller set a `traceparent` of their own.
 */
export function withTraceContext(json: string, ctx: SpanContext): string {
  if (!isSpanContextValid(ctx)) return json;
  if (json.includes('"traceparent"') && Object.hasOwn(JSON.parse(json) as object, 'traceparent')) return json;
  const state = ctx.traceState?.serialize();
  const fields = `"traceparent":"${traceparentOf(ctx)}"${state ? `,"tracestate":${JSON.stringify(state)}` : ''}`;
  return json === '{}' ? `{${fields}}` : `${json.slice(0, -1)},${fields}}`;
}

/** The push's context from a job's metadata; null when it has none or it is malformed. */
export function producerContextOf(metadata: Record<string, unknown> | null | undefined): SpanContext | null {
  const value = metadata?.traceparent;
  if (typeof value !== 'string') return null;
  const m = TRACEPARENT.exec(value);
  // Version ff is invalid; version 00 has exactly four fields (later versions may add some).
  if (!m || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return null;
  const state = metadata!.tracestate;
  const ctx: SpanContext = {
    traceId: m[2],
    spanId: m[3],
    traceFlags: parseInt(m[4], 16),
    isRemote: true,
    traceState: typeof state === 'string' && state.length > 0 ? createTraceState(state) : undefined,
  };
  return isSpanContextValid(ctx) ? ctx : null;
}
