import { Injectable, type INestApplication } from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace, type SpanContext } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import pg from 'pg';
import { ulid } from 'ulid';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateJobIdError, InvalidQueueOptionsError, Process, Processor, QueueAdmin, QueueModule, type Job } from '../../src/index.js';
import { openTelemetry } from '../../src/telemetry/opentelemetry/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { rejectionOf, sinkOf } from '../producer/support.js';
import { inRequestSpan, jobIdOf, memoryTracing, traceparent, waitForSpans } from './support.js';

class PaymentDeclinedError extends Error {
  override name = 'PaymentDeclinedError';
}

/** The span each handler call saw as active, by job id and attempt. */
const activeInHandler = new Map<string, SpanContext | undefined>();

@Processor('traced')
@Injectable()
class TracedWorker {
  @Process('work')
  work(job: Job) {
    activeInHandler.set(`${job.id}:${job.attempt}`, trace.getActiveSpan()?.spanContext());
    return 'ok';
  }

  @Process('typed', { schema: z.object({ n: z.number() }) })
  typed() {
    return 'never called with a bad payload';
  }

  @Process('charge', { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 10 } })
  charge(): never {
    throw new PaymentDeclinedError('card declined');
  }
}

const linkOf = (s: ReadableSpan) => s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId }));
const idOf = (ctx: SpanContext) => ({ traceId: ctx.traceId, spanId: ctx.spanId });

describe('OpenTelemetry traces (in-memory exporter)', () => {
  const scope = schemaScope('otel');
  const tracing = memoryTracing();
  const { exporter, provider } = tracing;
  let app: INestApplication;
  let appSchema: string;
  let parentApp: INestApplication;
  let noSdkApp: INestApplication;
  const client = new pg.Client({ connectionString: databaseUrl() });
  const metadataOf = async (a: INestApplication, id: string) => (await a.get(QueueAdmin).getJob(id))!.metadata;
  const processSpansOf = (id: string, count = 1) => waitForSpans(exporter, 'process traced', count, (s) => jobIdOf(s) === id);
  const sendSpanOf = async (id: string) => (await waitForSpans(exporter, 'send traced', 1, (s) => jobIdOf(s) === id))[0];

  beforeAll(async () => {
    await client.connect();
    const queues = [{ name: 'traced', concurrency: 4 }];
    appSchema = scope.fresh();
    app = await createQueueApp({ schema: appSchema, queues, telemetry: openTelemetry({ tracerProvider: provider, metrics: false }) }, [TracedWorker]);
    parentApp = await createQueueApp(
      { schema: scope.fresh(), queues, telemetry: openTelemetry({ tracerProvider: provider, metrics: false, producerContext: 'parent' }) },
      [TracedWorker],
    );
    // The global providers, with no SDK registered: the API's no-op tracer.
    noSdkApp = await createQueueApp({ schema: scope.fresh(), queues, telemetry: openTelemetry() }, [TracedWorker]);
  });
  afterAll(async () => {
    await Promise.all([app?.close(), parentApp?.close(), noSdkApp?.close()]);
    await client.end();
    await tracing.dispose();
    await scope.dispose();
  });

  it('a push is a PRODUCER span "send <queue>"; its context is stored in metadata; the attempt is a CONSUMER span linked to it', async () => {
    const id = await sinkOf(app, 'traced').push('work', { n: 1 }, { metadata: { tenant: 'acme' } });
    const [processed] = await processSpansOf(id);
    const send = await sendSpanOf(id);

    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.parentSpanContext).toBeUndefined();
    expect(send.attributes).toMatchObject({
      'messaging.system': 'nestjs-pg-queue',
      'messaging.destination.name': 'traced',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
      'messaging.message.id': id,
      'nestjs_pg_queue.job.name': 'work',
      'nestjs_pg_queue.push.in_transaction': false,
    });
    expect(send.status.code).toBe(SpanStatusCode.UNSET);
    expect(await metadataOf(app, id)).toEqual({ tenant: 'acme', traceparent: traceparent(send.spanContext()) });

    expect(processed.kind).toBe(SpanKind.CONSUMER);
    expect(processed.attributes).toMatchObject({
      'messaging.system': 'nestjs-pg-queue',
      'messaging.destination.name': 'traced',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.message.id': id,
      'nestjs_pg_queue.job.name': 'work',
      'nestjs_pg_queue.job.attempt': 1,
      'nestjs_pg_queue.job.outcome': 'done',
    });
    // A link by default: the attempt starts a trace of its own, pointing at the push.
    expect(linkOf(processed)).toEqual([idOf(send.spanContext())]);
    expect(processed.parentSpanContext).toBeUndefined();
    expect(processed.spanContext().traceId).not.toBe(send.spanContext().traceId);
    // The handler ran inside the attempt's span, so its own spans nest under it.
    expect(activeInHandler.get(`${id}:1`)).toEqual(processed.spanContext());
  });

  it('a push inside a request span is its child; the attempt (started directly in that call) is not', async () => {
    const { value: id, request } = await inRequestSpan(provider, () => sinkOf(app, 'traced').push('work', { n: 2 }));
    const send = await sendSpanOf(id);
    const [processed] = await processSpansOf(id);
    expect(send.spanContext().traceId).toBe(request.traceId);
    expect(send.parentSpanContext?.spanId).toBe(request.spanId);
    expect(processed.parentSpanContext).toBeUndefined();
    expect(processed.spanContext().traceId).not.toBe(request.traceId);
    expect(linkOf(processed)).toEqual([idOf(send.spanContext())]);
  });

  it('a push inside the caller\'s transaction is traced too, and the job that runs after COMMIT links to it', async () => {
    await client.query('BEGIN');
    const id = await sinkOf(app, 'traced').push('work', { n: 3 }, { client });
    const send = await sendSpanOf(id);
    expect(send.attributes['nestjs_pg_queue.push.in_transaction']).toBe(true);
    await client.query('COMMIT');
    const [processed] = await processSpansOf(id);
    expect(linkOf(processed)).toEqual([idOf(send.spanContext())]);
  });

  it('pushMany is one span with the batch size; every job carries its context and links to it', async () => {
    const ids = await sinkOf(app, 'traced').pushMany([1, 2, 3].map((n) => ({ name: 'work', data: { n } })));
    const processed = await Promise.all(ids.map((id) => processSpansOf(id).then((s) => s[0])));
    const sends = await waitForSpans(exporter, 'send traced', 1, (s) => s.attributes['messaging.batch.message_count'] === 3);
    expect(sends).toHaveLength(1);
    expect(sends[0].attributes['messaging.message.id']).toBeUndefined();
    for (const p of processed) expect(linkOf(p)).toEqual([idOf(sends[0].spanContext())]);
    for (const id of ids) expect((await metadataOf(app, id)).traceparent).toBe(traceparent(sends[0].spanContext()));
  });

  it('each failed attempt is a span with status ERROR, error.type and the exception; the outcome says retrying, then killed', async () => {
    const id = await sinkOf(app, 'traced').push('charge', {});
    const spans = (await processSpansOf(id, 2)).sort((a, b) => Number(a.attributes['nestjs_pg_queue.job.attempt']) - Number(b.attributes['nestjs_pg_queue.job.attempt']));
    expect(spans.map((s) => [s.attributes['nestjs_pg_queue.job.attempt'], s.attributes['nestjs_pg_queue.job.outcome']])).toEqual([
      [1, 'retrying'],
      [2, 'killed'],
    ]);
    const send = await sendSpanOf(id);
    for (const s of spans) {
      expect(s.status).toEqual({ code: SpanStatusCode.ERROR, message: 'card declined' });
      expect(s.attributes['error.type']).toBe('PaymentDeclinedError');
      const exception = s.events.find((e) => e.name === 'exception');
      expect(exception?.attributes).toMatchObject({ 'exception.type': 'PaymentDeclinedError', 'exception.message': 'card declined' });
      expect(linkOf(s)).toEqual([idOf(send.spanContext())]);
    }
  });

  it('an attempt whose stored payload its schema refuses still has its span: killed, with JobPayloadError', async () => {
    // Written past the push-time check, as older code or another service would.
    const id = ulid();
    await client.query(`INSERT INTO ${appSchema}.jobs (id, queue, name, payload) VALUES ($1, 'traced', 'typed', '{"n":"one"}')`, [id]);
    const [processed] = await processSpansOf(id);
    expect(processed.attributes['nestjs_pg_queue.job.outcome']).toBe('killed');
    expect(processed.attributes['error.type']).toBe('JobPayloadError');
    expect(processed.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('a push that fails ends its span with the error', async () => {
    const sink = sinkOf(app, 'traced');
    const id = await sink.push('work', {}, { id: ulid(), delayMs: 60_000 });
    const err = await rejectionOf(sink.push('work', {}, { id }));
    expect(err).toBeInstanceOf(DuplicateJobIdError);
    const failed = await waitForSpans(exporter, 'send traced', 1, (s) => s.status.code === SpanStatusCode.ERROR);
    expect(failed[0].attributes['error.type']).toBe('DuplicateJobIdError');
    expect(failed[0].attributes['messaging.message.id']).toBeUndefined();
  });

  it('a traceparent the caller put in metadata is kept (and linked); a malformed one is ignored and the job still runs', async () => {
    const own = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    const sink = sinkOf(app, 'traced');
    const kept = await sink.push('work', {}, { metadata: { traceparent: `00-${own.traceId}-${own.spanId}-01` } });
    expect((await metadataOf(app, kept)).traceparent).toBe(`00-${own.traceId}-${own.spanId}-01`);
    expect(linkOf((await processSpansOf(kept))[0])).toEqual([own]);

    for (const bad of ['garbage', `ff-${own.traceId}-${own.spanId}-01`, `00-${'0'.repeat(32)}-${own.spanId}-01`, 42]) {
      const id = await sink.push('work', {}, { metadata: { traceparent: bad } });
      const [processed] = await processSpansOf(id);
      expect(processed.links, String(bad)).toEqual([]);
      expect(processed.attributes['nestjs_pg_queue.job.outcome']).toBe('done');
    }
  });

  it("producerContext: 'parent' makes the attempt the push span's child, in the push's trace", async () => {
    const id = await sinkOf(parentApp, 'traced').push('work', {});
    const send = await sendSpanOf(id);
    const [processed] = await processSpansOf(id);
    expect(processed.spanContext().traceId).toBe(send.spanContext().traceId);
    expect(processed.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    expect(processed.links).toEqual([]);
  });

  it('with no SDK registered, nothing is recorded or stored, and jobs run as usual', async () => {
    const before = exporter.getFinishedSpans().length;
    const id = await sinkOf(noSdkApp, 'traced').push('work', {});
    await waitFor('the job done', async () => (await noSdkApp.get(QueueAdmin).getJob(id))?.status === 'done');
    expect(await metadataOf(noSdkApp, id)).toEqual({});
    expect(exporter.getFinishedSpans().length).toBe(before);
  });
});

describe('telemetry options', () => {
  it('openTelemetry() names the bad option', () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ producerContext: 'child' }, 'telemetry.producerContext', /must be 'link' or 'parent', got "child"/],
      [{ traces: 'yes' }, 'telemetry.traces', /must be a boolean/],
      [{ gaugeIntervalMs: -1 }, 'telemetry.gaugeIntervalMs', /must be an integer >= 0/],
      [{ tracerProvider: {} }, 'telemetry.tracerProvider', /TracerProvider/],
      [{ meterProvider: 5 }, 'telemetry.meterProvider', /MeterProvider/],
      [{ metric: true }, 'telemetry.metric', /not an openTelemetry\(\) option.*did you mean "metrics"/],
    ];
    for (const [options, field, message] of cases) {
      let caught: unknown;
      try {
        openTelemetry(options as never);
      } catch (err) {
        caught = err;
      }
      expect(caught, field).toBeInstanceOf(InvalidQueueOptionsError);
      expect((caught as InvalidQueueOptionsError).option).toBe(field);
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('the module refuses a telemetry value that is not an adapter, before connecting', () => {
    for (const telemetry of [{}, true, 'otel', { pushing() {} }]) {
      expect(() => QueueModule.forRoot({ connection: { connectionString: databaseUrl() }, queues: ['q'], telemetry: telemetry as never })).toThrow(
        /telemetry.*must be a telemetry adapter such as openTelemetry\(\)/,
      );
    }
  });
});
