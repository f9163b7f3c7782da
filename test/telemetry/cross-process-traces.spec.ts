import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTelemetry } from '../../src/telemetry/opentelemetry/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';
import { REPO_ROOT } from '../reliability/support/build.js';
import type { SpanRecord } from './fixtures/traced-worker.js';
import { inRequestSpan, memoryTracing, waitForSpans } from './support.js';

/**
 * The trace crosses Postgres: an API process (no workers) pushes inside a request span; a worker
 * process, with an SDK of its own, runs the job. Each exports to its own in-memory exporter; the
 * worker's CONSUMER span must link to the API's PRODUCER span.
 */
describe('OpenTelemetry traces across processes', () => {
  const scope = schemaScope('otelx');
  const tracing = memoryTracing();
  let api: INestApplication;
  let child: ChildProcess;
  let output = '';
  const messages: Array<{ type: string; spans?: SpanRecord[] }> = [];

  beforeAll(async () => {
    const schema = scope.fresh();
    // The API app creates the schema first, so the worker finds it migrated.
    api = await createQueueApp({ schema, queues: ['xproc'], workers: false, telemetry: openTelemetry({ tracerProvider: tracing.provider, metrics: false }) });
    child = fork(join(REPO_ROOT, 'test/telemetry/fixtures/traced-worker.ts'), [], {
      cwd: REPO_ROOT,
      execArgv: ['--import', join(REPO_ROOT, 'sample/register.mjs')],
      env: { ...process.env, DATABASE_URL: databaseUrl(), SCHEMA: schema },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.on('message', (m: { type: string }) => void messages.push(m));
    await waitFor('the worker process ready', () => messages.some((m) => m.type === 'ready') || child.exitCode !== null, 60_000);
    expect(child.exitCode, output).toBeNull();
  }, 90_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'close' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await api?.close();
    await tracing.dispose();
    await scope.dispose();
  });

  /** The worker's finished spans, asked for until `pick` finds what it wants. */
  async function workerSpan(pick: (s: SpanRecord) => boolean): Promise<SpanRecord> {
    return waitFor('the worker process span', async () => {
      const seen = messages.length;
      child.send({ type: 'spans' });
      const reply = await waitFor('a spans reply', () => messages.slice(seen).find((m) => m.type === 'spans'));
      return reply.spans!.find(pick);
    }, 30_000, 50);
  }

  it("the worker's process span links to the push's send span made in the other process", async () => {
    const { value: id, request } = await inRequestSpan(tracing.provider, () => sinkOf(api, 'xproc').push('work', { n: 1 }));
    const [send] = await waitForSpans(tracing.exporter, 'send xproc', 1, (s) => s.attributes['messaging.message.id'] === id);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.parentSpanContext?.spanId).toBe(request.spanId);

    const processed = await workerSpan((s) => s.name === 'process xproc' && s.attributes['messaging.message.id'] === id);
    expect(processed.kind).toBe(SpanKind.CONSUMER);
    expect(processed.links).toEqual([{ traceId: send.spanContext().traceId, spanId: send.spanContext().spanId }]);
    expect(processed.links[0].traceId).toBe(request.traceId);
    expect(processed.parentSpanId).toBeUndefined();
    expect(processed.attributes).toMatchObject({
      'messaging.destination.name': 'xproc',
      'messaging.operation.type': 'process',
      'nestjs_pg_queue.job.attempt': 1,
      'nestjs_pg_queue.job.outcome': 'done',
    });
    // No span in the API process for the attempt: it ran elsewhere.
    expect(tracing.exporter.getFinishedSpans().filter((s) => s.name === 'process xproc')).toEqual([]);
  }, 60_000);
});
