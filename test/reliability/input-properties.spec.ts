/**
 * Issue 6, item 6: property-based input tests. At least 1,000 generated push / pushMany calls
 * (x RELIABILITY_SCALE) mixing valid jobs with jobs that carry exactly one invalid input.
 * Pass: every valid call round-trips exactly through QueueAdmin.getJob; every invalid call throws
 * InvalidJobError naming the offending field, and the row count does not change.
 */
import type { INestApplication } from '@nestjs/common';
import fc from 'fast-check';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSinkToken, InvalidJobError, QueueAdmin, type JobRecord, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { scaled, timeoutFor } from './support/harness.js';

type AnyJob = { name: unknown; data: unknown; options?: Record<string, unknown> };

let keySeq = 0;
/** Idempotency keys are made unique per call, so valid calls never conflict with each other. */
const uniqueKey = (k: string) => `${k}#${++keySeq}`;

const jsonValue = fc.jsonValue({ maxDepth: 3 }).filter((v) => !/\\u0000|\\ud[89a-f]/i.test(JSON.stringify(v)));
const unicodeText = (max: number) => fc.string({ minLength: 1, maxLength: max, unit: 'grapheme' }).filter((s) => !s.includes('\0') && s.isWellFormed());

const validOptions = fc
  .record(
    {
      id: fc.constant(true),
      when: fc.oneof(
        // Postgres and JavaScript agree on these years (see the note on year < 1901 in the README).
        fc.record({ runAt: fc.date({ min: new Date('1901-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }) }),
        fc.record({ delayMs: fc.integer({ min: 0, max: 10 * 365 * 24 * 3600 * 1000 }) }),
      ),
      priority: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      maxAttempts: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      idempotencyKey: unicodeText(100),
      metadata: fc.dictionary(fc.string({ maxLength: 10 }), jsonValue, { maxKeys: 4 }),
    },
    { requiredKeys: [] },
  )
  .map(({ id, when, idempotencyKey, ...rest }) => ({
    ...rest,
    ...(when ?? {}),
    ...(id ? { id: ulid() } : {}),
    ...(idempotencyKey !== undefined ? { idempotencyKey: uniqueKey(idempotencyKey) } : {}),
  }));

const validJob = fc.record({ name: unicodeText(60), data: jsonValue, options: fc.option(validOptions, { nil: undefined }) });

const circular: Record<string, unknown> = {};
circular.self = circular;

/** One invalid input each: [the field InvalidJobError must name, how to break a valid job]. */
const faults: Array<[string, (j: AnyJob) => AnyJob]> = [
  ['name', (j) => ({ ...j, name: '' })],
  ['name', (j) => ({ ...j, name: 'n'.repeat(256) })],
  ['name', (j) => ({ ...j, name: 'a\0b' })],
  ['name', (j) => ({ ...j, name: 'lone \uD800 surrogate' })],
  ['name', (j) => ({ ...j, name: 42 })],
  ['name', (j) => ({ ...j, name: null })],
  ['data', (j) => ({ ...j, data: undefined })],
  ['data', (j) => ({ ...j, data: () => 1 })],
  ['data', (j) => ({ ...j, data: { n: 10n } })],
  ['data', (j) => ({ ...j, data: { s: 'nul \0 inside' } })],
  ['data', (j) => ({ ...j, data: ['\uDC00'] })],
  ['data', (j) => ({ ...j, data: circular })],
  ['options.id', (j) => ({ ...j, options: { ...j.options, id: 'not-a-ulid' } })],
  ['options.id', (j) => ({ ...j, options: { ...j.options, id: ulid().toLowerCase() } })],
  ['options.id', (j) => ({ ...j, options: { ...j.options, id: `8${ulid().slice(1)}` } })],
  ['options.priority', (j) => ({ ...j, options: { ...j.options, priority: 1.5 } })],
  ['options.priority', (j) => ({ ...j, options: { ...j.options, priority: 2 ** 31 } })],
  ['options.priority', (j) => ({ ...j, options: { ...j.options, priority: 'high' } })],
  ['options.maxAttempts', (j) => ({ ...j, options: { ...j.options, maxAttempts: 0 } })],
  ['options.maxAttempts', (j) => ({ ...j, options: { ...j.options, maxAttempts: 2.5 } })],
  ['options.maxAttempts', (j) => ({ ...j, options: { ...j.options, maxAttempts: '3' } })],
  ['options.runAt', (j) => ({ ...j, options: { ...withoutWhen(j.options), runAt: new Date(Number.NaN) } })],
  ['options.runAt', (j) => ({ ...j, options: { ...withoutWhen(j.options), runAt: '2030-01-01' } })],
  ['options.runAt', (j) => ({ ...j, options: { ...withoutWhen(j.options), runAt: new Date('+010000-01-01T00:00:00Z') } })],
  ['options.delayMs', (j) => ({ ...j, options: { ...withoutWhen(j.options), delayMs: -1 } })],
  ['options.delayMs', (j) => ({ ...j, options: { ...withoutWhen(j.options), delayMs: Number.POSITIVE_INFINITY } })],
  ['options.delayMs', (j) => ({ ...j, options: { ...withoutWhen(j.options), delayMs: Number.NaN } })],
  ['options.delayMs', (j) => ({ ...j, options: { ...withoutWhen(j.options), runAt: new Date(), delayMs: 5 } })],
  ['options.idempotencyKey', (j) => ({ ...j, options: { ...j.options, idempotencyKey: '' } })],
  ['options.idempotencyKey', (j) => ({ ...j, options: { ...j.options, idempotencyKey: 'k'.repeat(513) } })],
  ['options.idempotencyKey', (j) => ({ ...j, options: { ...j.options, idempotencyKey: 'a\0b' } })],
  ['options.idempotencyKey', (j) => ({ ...j, options: { ...j.options, idempotencyKey: 7 } })],
  ['options.metadata', (j) => ({ ...j, options: { ...j.options, metadata: [] } })],
  ['options.metadata', (j) => ({ ...j, options: { ...j.options, metadata: 'text' } })],
  ['options.metadata', (j) => ({ ...j, options: { ...j.options, metadata: new Date() } })],
  ['options.metadata', (j) => ({ ...j, options: { ...j.options, metadata: { big: 1n } } })],
  ['options.metadata', (j) => ({ ...j, options: { ...j.options, metadata: { k: '\0' } } })],
  ['options.retries', (j) => ({ ...j, options: { ...j.options, retries: 3 } })],
  ['options', (j) => ({ ...j, options: 'fast' as unknown as Record<string, unknown> })],
];
/** Faults only a pushMany element can have (field relative to "jobs[i]"). */
const manyFaults: Array<[string, (j: AnyJob) => unknown]> = [
  ['', () => 'not an object'],
  ['', () => null],
  ['.extra', (j) => ({ ...j, extra: true })],
  ['.options.client', (j) => ({ ...j, options: { ...j.options, client: {} } })],
];

function withoutWhen(o: Record<string, unknown> | undefined): Record<string, unknown> {
  const { runAt: _r, delayMs: _d, ...rest } = o ?? {};
  return rest;
}

type Call =
  | { kind: 'push'; job: AnyJob; invalid: string | null }
  | { kind: 'pushMany'; jobs: unknown; invalid: string | null };

const pushCall: fc.Arbitrary<Call> = fc.tuple(validJob, fc.option(fc.integer({ min: 0, max: faults.length - 1 }), { nil: null, freq: 2 })).map(([job, f]) =>
  f === null ? { kind: 'push', job, invalid: null } : { kind: 'push', job: faults[f][1](job), invalid: faults[f][0] },
);

const pushManyCall: fc.Arbitrary<Call> = fc
  .tuple(
    fc.array(validJob, { minLength: 0, maxLength: 6 }),
    fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: faults.length + manyFaults.length - 1 })), { nil: null, freq: 2 }),
  )
  .map(([jobs, f]): Call => {
    if (f === null || jobs.length === 0) return { kind: 'pushMany', jobs, invalid: null };
    const i = f[0] % jobs.length;
    const copy: unknown[] = [...jobs];
    let field: string;
    if (f[1] < faults.length) {
      copy[i] = faults[f[1]][1](jobs[i]);
      field = `jobs[${i}].${faults[f[1]][0]}`;
    } else {
      const [suffix, apply] = manyFaults[f[1] - faults.length];
      copy[i] = apply(jobs[i]);
      field = `jobs[${i}]${suffix}`;
    }
    return { kind: 'pushMany', jobs: copy, invalid: field };
  });

const notAnArray: fc.Arbitrary<Call> = fc.constantFrom<Call>(
  { kind: 'pushMany', jobs: 'jobs', invalid: 'jobs' },
  { kind: 'pushMany', jobs: { 0: { name: 'x', data: 1 } }, invalid: 'jobs' },
);

const anyCall = fc.oneof({ arbitrary: pushCall, weight: 5 }, { arbitrary: pushManyCall, weight: 4 }, { arbitrary: notAnArray, weight: 1 });

const normalise = (v: unknown) => JSON.parse(JSON.stringify(v));

function expectRoundTrip(rec: JobRecord | null, job: AnyJob, id: string): void {
  expect(rec).not.toBeNull();
  const o = (job.options ?? {}) as Record<string, any>;
  expect(rec!.id).toBe(id);
  if (o.id) expect(id).toBe(o.id);
  expect(rec!.queue).toBe('props');
  expect(rec!.name).toBe(job.name);
  expect(rec!.data).toEqual(normalise(job.data));
  expect(rec!.status).toBe('pending');
  expect(rec!.attempts).toBe(0);
  expect(rec!.priority).toBe(o.priority ?? 0);
  expect(rec!.maxAttempts).toBe(o.maxAttempts ?? null);
  expect(rec!.idempotencyKey).toBe(o.idempotencyKey ?? null);
  expect(rec!.metadata).toEqual(normalise(o.metadata ?? {}));
  if (o.runAt) expect(rec!.runAt.getTime()).toBe(o.runAt.getTime());
  else expect(rec!.runAt.getTime() - rec!.createdAt.getTime()).toBe(o.delayMs ?? 0);
}

describe('reliability: property-based input', () => {
  const schema = uniqueSchema('rel_props');
  const pool = testPool(2);
  let app: INestApplication;
  let sink: QueueSink;
  let admin: QueueAdmin;
  beforeAll(async () => {
    app = await createQueueApp({ schema, queues: ['props'], workers: false });
    sink = app.get<QueueSink>(getSinkToken('props'));
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const RUNS = scaled(1000);
  it(
    `6. ${RUNS} generated push / pushMany calls; pass: valid calls round-trip exactly through getJob, invalid ones throw InvalidJobError naming the field and write nothing`,
    async () => {
      const rows = async () => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs`)).rows[0].n as number;
      const tally = { valid: 0, invalid: 0, jobs: 0 };
      await fc.assert(
        fc.asyncProperty(anyCall, async (call) => {
          const before = await rows();
          if (call.invalid !== null) {
            tally.invalid++;
            const attempt =
              call.kind === 'push'
                ? sink.push(call.job.name as string, call.job.data, call.job.options as never)
                : sink.pushMany(call.jobs as never);
            const err = await attempt.then(
              () => null,
              (e: unknown) => e,
            );
            expect(err, `expected InvalidJobError for ${call.invalid}`).toBeInstanceOf(InvalidJobError);
            expect((err as InvalidJobError).field).toBe(call.invalid);
            expect((err as InvalidJobError).message).toContain(call.invalid);
            expect(await rows()).toBe(before);
            return;
          }
          tally.valid++;
          if (call.kind === 'push') {
            const id = await sink.push(call.job.name as string, call.job.data, call.job.options as never);
            expectRoundTrip(await admin.getJob(id), call.job, id);
            expect(await rows()).toBe(before + 1);
            tally.jobs++;
          } else {
            const jobs = call.jobs as AnyJob[];
            const ids = await sink.pushMany(jobs as never);
            expect(ids).toHaveLength(jobs.length);
            for (let i = 0; i < jobs.length; i++) expectRoundTrip(await admin.getJob(ids[i]), jobs[i], ids[i]);
            expect(await rows()).toBe(before + jobs.length);
            tally.jobs += jobs.length;
          }
        }),
        { numRuns: RUNS },
      );
      expect(tally.valid + tally.invalid).toBe(RUNS);
      expect(tally.valid).toBeGreaterThan(RUNS / 5);
      expect(tally.invalid).toBeGreaterThan(RUNS / 5);
      console.log(`[reliability] ${JSON.stringify({ scenario: '6 property-based input', calls: RUNS, ...tally })}`);
    },
    timeoutFor(180_000),
  );
});
