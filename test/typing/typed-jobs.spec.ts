import { Injectable, type INestApplication } from '@nestjs/common';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, InvalidJobError, Process, Processor, ProcessorDefinitionError, QueueAdmin, type Job, type JobOutput } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { countJobs, rejectionOf, sinkOf } from '../producer/support.js';

// zod 4: an email and a name, with a default the handler sees.
const welcomeJob = defineJob('welcome', z.object({ email: z.email(), name: z.string().min(1), locale: z.string().default('en') }));
// valibot: a transform, so input and output types differ.
const invoiceJob = defineJob('invoice', v.object({ amountCents: v.pipe(v.number(), v.integer(), v.minValue(1)), sku: v.pipe(v.string(), v.transform((s) => s.toUpperCase())) }));

const seen: unknown[] = [];

@Processor('typed')
@Injectable()
class TypedWorker {
  @Process(welcomeJob)
  welcome(job: Job<JobOutput<typeof welcomeJob>>) {
    seen.push({ name: 'welcome', data: job.data });
  }

  @Process(invoiceJob)
  invoice(job: Job<JobOutput<typeof invoiceJob>>) {
    seen.push({ name: 'invoice', data: job.data });
  }

  // The option form: a schema on a plain @Process name (checked for untyped pushes in this process).
  @Process('ping', { schema: z.object({ n: z.number() }) })
  ping(job: Job<{ n: number }>) {
    seen.push({ name: 'ping', data: job.data });
  }
}

describe('typed, schema-checked jobs (zod 4 and valibot through Standard Schema)', () => {
  const scope = schemaScope('typed');
  let app: INestApplication;
  let producer: INestApplication;
  let schema: string;
  beforeAll(async () => {
    schema = scope.fresh();
    app = await createQueueApp({ schema, queues: ['typed'], pollIntervalMs: 100 }, [TypedWorker]);
    // A producer-only process without the handlers: only defineJob pushes are checked there.
    producer = await createQueueApp({ schema, queues: ['typed'], workers: false });
  });
  afterAll(async () => {
    await producer?.close();
    await app?.close();
    await scope.dispose();
  });

  it('the handler receives the schema output (defaults, transforms)', async () => {
    const sink = sinkOf(producer, 'typed');
    const a = await sink.push(welcomeJob, { email: 'ada@example.com', name: 'Ada' });
    const b = await sink.push(invoiceJob, { amountCents: 1200, sku: 'abc-1' });
    const admin = app.get(QueueAdmin);
    await waitFor('both done', async () => (await admin.getJob(a))?.status === 'done' && (await admin.getJob(b))?.status === 'done');
    expect(seen).toContainEqual({ name: 'welcome', data: { email: 'ada@example.com', name: 'Ada', locale: 'en' } });
    expect(seen).toContainEqual({ name: 'invoice', data: { amountCents: 1200, sku: 'ABC-1' } });
    // The row keeps what was pushed; the schema runs again at each attempt.
    expect((await admin.getJob(b))!.data).toEqual({ amountCents: 1200, sku: 'abc-1' });
  });

  it('a bad payload is refused at push with InvalidJobError listing each issue and its path; nothing is written', async () => {
    const sink = sinkOf(producer, 'typed');
    const before = await countJobs(scope.pool, schema);
    const zodErr = await rejectionOf(sink.push(welcomeJob, { email: 'not-an-email', name: '' } as never));
    expect(zodErr).toBeInstanceOf(InvalidJobError);
    expect(zodErr.field).toBe('data');
    expect(zodErr.issues.map((i: { path: string }) => i.path).sort()).toEqual(['data.email', 'data.name']);
    expect(zodErr.message).toMatch(/^Invalid job: data does not match the job's schema: data\.(email|name): /);
    const valiErr = await rejectionOf(sink.push(invoiceJob, { amountCents: 0.5, sku: 7 } as never));
    expect([...new Set(valiErr.issues.map((i: { path: string }) => i.path))].sort()).toEqual(['data.amountCents', 'data.sku']);
    // pushMany names the job's index; the whole batch is refused.
    const batchErr = await rejectionOf(sink.pushMany([{ name: welcomeJob, data: { email: 'b@example.com', name: 'B' } }, { name: invoiceJob, data: { amountCents: -1, sku: 'x' } }]));
    expect(batchErr.field).toBe('jobs[1].data');
    expect(batchErr.issues[0].path).toBe('jobs[1].data.amountCents');
    expect(await countJobs(scope.pool, schema)).toBe(before);
  });

  it('an untyped push of a name with a schema is checked in a process that has the handler', async () => {
    const err = await rejectionOf(sinkOf(app, 'typed').push('ping', { n: 'one' }));
    expect(err).toBeInstanceOf(InvalidJobError);
    expect(err.issues[0].path).toBe('data.n');
    // From the producer-only process (no handler, no schema known) it is written, and refused at run.
    const id = await sinkOf(producer, 'typed').push('ping', { n: 'one' });
    const admin = app.get(QueueAdmin);
    const job = await waitFor('the job killed', async () => {
      const j = await admin.getJob(id);
      return j?.status === 'killed' ? j : null;
    });
    expect(job.attempts).toBe(1); // not retried: the same payload would fail again
    expect(job.lastError).toMatch(/JobPayloadError: payload of job \S+ \("ping"\) does not match its handler's schema: data\.n: .+; not retried/);
    expect(seen.filter((s) => (s as { name: string }).name === 'ping')).toEqual([]);
  });

  it('a row written by older code that no longer matches is killed at its first attempt, the handler not called', async () => {
    const id = await sinkOf(producer, 'typed').push('welcome', { email: 'old@example.com' }); // untyped, no name: older shape
    const admin = app.get(QueueAdmin);
    const job = await waitFor('the job killed', async () => {
      const j = await admin.getJob(id);
      return j?.status === 'killed' ? j : null;
    });
    expect(job.lastError).toMatch(/data\.name: /);
    expect(seen.some((s) => (s as { data: { email?: string } }).data?.email === 'old@example.com')).toBe(false);
  });

  it('a schema that is not a Standard Schema is refused where it is given', async () => {
    expect(() => defineJob('x', {} as never)).toThrow(InvalidJobError);
    expect(() => defineJob('', z.string())).toThrow(/name must be a non-empty string/);
    @Processor('typed')
    @Injectable()
    class BadSchema {
      @Process('bad', { schema: { parse() {} } as never })
      bad() {}
    }
    const err = await rejectionOf(createQueueApp({ schema: scope.fresh(), queues: ['typed'] }, [BadSchema]));
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toMatch(/BadSchema\.bad: schema must be a Standard Schema/);
  });
});
