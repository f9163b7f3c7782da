import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { AttemptEndStatus, AttemptInfo, PushInfo } from '../telemetry-port.js';
import * as A from './attributes.js';
import { producerContextOf } from './trace-context.js';

/** How an attempt's span relates to its push's: a link (its own trace, the default) or a child. */
export type ProducerContextMode = 'link' | 'parent';

/**
 * The spans of the messaging semantic conventions: `send <queue>` (PRODUCER) around a push, in
 * the caller's context (an HTTP request's span, say), and `process <queue>` (CONSUMER) around
 * each attempt, linked to (or, with `parent`, the child of) the push's context read back from
 * the job's metadata. An attempt's span never inherits the context the worker happened to run
 * in (a direct start runs inside the push's call): its parent is the push or nothing.
 */
export class JobTracing {
  constructor(
    private readonly tracer: Tracer,
    private readonly mode: ProducerContextMode,
  ) {}

  startSend(push: PushInfo): Span {
    const attributes: Attributes = {
      [A.MESSAGING_SYSTEM]: A.SYSTEM,
      [A.DESTINATION]: push.queue,
      [A.OPERATION_TYPE]: 'send',
      [A.OPERATION_NAME]: 'send',
      [A.IN_TRANSACTION]: push.inTransaction,
    };
    if (push.names.length === 1) attributes[A.JOB_NAME] = push.names[0];
    else attributes[A.BATCH_COUNT] = push.names.length;
    return this.tracer.startSpan(`send ${push.queue}`, { kind: SpanKind.PRODUCER, attributes }, context.active());
  }

  endSend(span: Span, ids: readonly string[] | null, error?: unknown): void {
    if (ids?.length === 1) span.setAttribute(A.MESSAGE_ID, ids[0]);
    if (ids === null) failed(span, error);
    span.end();
  }

  startProcess(info: AttemptInfo): Span {
    const producer = producerContextOf(info.metadata);
    const parent = producer && this.mode === 'parent' ? trace.setSpanContext(ROOT_CONTEXT, producer) : ROOT_CONTEXT;
    return this.tracer.startSpan(
      `process ${info.queue}`,
      {
        kind: SpanKind.CONSUMER,
        links: producer && this.mode === 'link' ? [{ context: producer }] : undefined,
        attributes: {
          [A.MESSAGING_SYSTEM]: A.SYSTEM,
          [A.DESTINATION]: info.queue,
          [A.OPERATION_TYPE]: 'process',
          [A.OPERATION_NAME]: 'process',
          [A.MESSAGE_ID]: info.id,
          [A.JOB_NAME]: info.name,
          [A.JOB_ATTEMPT]: info.attempt,
        },
      },
      parent,
    );
  }

  /** Runs `fn` with `span` active, so the handler's own spans (queries, HTTP calls) nest under it. */
  runIn<T>(span: Span, fn: () => T): T {
    return context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
  }

  endProcess(span: Span, status: AttemptEndStatus, error?: unknown): void {
    span.setAttribute(A.JOB_OUTCOME, status);
    if (status === 'retrying' || status === 'killed') failed(span, error);
    span.end();
  }
}

function failed(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.recordException(error instanceof Error ? error : { name: 'Error', message });
  span.setAttribute(A.ERROR_TYPE, A.errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}
