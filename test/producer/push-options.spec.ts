import type { INestApplication } from '@nestjs/common';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateJobIdError, QueueAdmin, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { countJobs, rejectionOf, sinkOf } from './support.js';

describe('push / pushMany store every option exactly', () => {
  const schema = uniqueSchema('push');
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;
  let admin: QueueAdmin;

  beforeAll(async () => {
    app = await createQueueApp({ schema, queues: ['default', 'other'] });
    sink = sinkOf(app);
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('push with every option: id echoed, priority, maxAttempts, runAt, metadata, idempotencyKey', async () => {
    const id = ulid();
    const runAt = new Date('2031-02-03T04:05:06.789Z');
    const metadata = { traceId: 'abc', nested: { n: 1, list: [1, 'two', null, true] }, 'ключ': '✓ 🚀' };
    const data = { userId: 42, tags: ['a', 'b'], deep: { x: null, y: 1.5, z: 'é' } };
    const got = await sink.push('welcome', data, { id, priority: -7, maxAttempts: 3, runAt, metadata, idempotencyKey: 'user-42-welcome' });
    expect(got).toBe(id);

    const job = await admin.getJob(id);
    expect(job).toEqual({
      id,
      queue: 'default',
      name: 'welcome',
      data,
      status: 'pending',
      attempts: 0,
      maxAttempts: 3,
      priority: -7,
      runAt,
      createdAt: expect.any(Date),
      lockedAt: null,
      lockedBy: null,
      doneAt: null,
      lastError: null,
      errors: [],
      progress: null,
      result: null,
      metadata,
      idempotencyKey: 'user-42-welcome',
    });
  });

  it('defaults: a fresh ULID, priority 0, maxAttempts null (resolved by the worker), run now, empty metadata, no key', async () => {
    const id = await sink.push('plain', 'just a string');
    expect(id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    const job = (await admin.getJob(id))!;
    expect(job).toMatchObject({ data: 'just a string', priority: 0, maxAttempts: null, metadata: {}, idempotencyKey: null });
    expect(job.runAt.getTime()).toBe(job.createdAt.getTime());
  });

  it('null options (and null element options in pushMany) mean "no options"', async () => {
    const id = await sink.push('nullopts', { a: 1 }, null as never);
    expect((await admin.getJob(id))).toMatchObject({ name: 'nullopts', priority: 0, maxAttempts: null, metadata: {} });
    const [m] = await sink.pushMany([{ name: 'nullopts', data: 2, options: null as never }]);
    expect((await admin.getJob(m))?.data).toBe(2);
  });

  it('priority at both ends of int4, and a runAt in the past', async () => {
    const hi = await sink.push('p', {}, { priority: 2_147_483_647 });
    const lo = await sink.push('p', {}, { priority: -2_147_483_648 });
    expect((await admin.getJob(hi))?.priority).toBe(2_147_483_647);
    expect((await admin.getJob(lo))?.priority).toBe(-2_147_483_648);
    const past = new Date('2001-09-09T01:46:40.001Z');
    expect((await admin.getJob(await sink.push('p', {}, { runAt: past })))?.runAt).toEqual(past);
  });

  it('runAt at both ends of the accepted range (years 1 and 9999) round-trips; just outside is refused', async () => {
    const first = new Date('0001-01-01T00:00:00.000Z');
    const last = new Date('9999-12-31T23:59:59.999Z');
    expect((await admin.getJob(await sink.push('p', {}, { runAt: first })))?.runAt).toEqual(first);
    expect((await admin.getJob(await sink.push('p', {}, { runAt: last })))?.runAt).toEqual(last);
    await expect(sink.push('p', {}, { runAt: new Date(first.getTime() - 1) })).rejects.toMatchObject({ field: 'options.runAt' });
    await expect(sink.push('p', {}, { runAt: new Date(last.getTime() + 1) })).rejects.toMatchObject({ field: 'options.runAt' });
  });

  it('every JSON payload shape round-trips', async () => {
    for (const data of [null, 0, -1.25, true, 'text with \\u0000 written literally', [], [1, [2, [3]]], {}, { a: { b: { c: [{}] } } }]) {
      const id = await sink.push('shape', data);
      expect((await admin.getJob(id))?.data).toEqual(data);
    }
  });

  it('delayMs is computed on the database clock: run_at = now() of the inserting transaction + delay', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ now: Date }>('SELECT now() AS now');
      const id = await sink.push('later', {}, { delayMs: 90_000, client });
      const zero = await sink.push('now', {}, { delayMs: 0, client });
      await client.query('COMMIT');
      const job = (await admin.getJob(id))!;
      expect(job.runAt.getTime()).toBe(rows[0].now.getTime() + 90_000);
      expect(job.runAt.getTime() - job.createdAt.getTime()).toBe(90_000);
      expect((await admin.getJob(zero))!.runAt.getTime()).toBe(rows[0].now.getTime());
    } finally {
      client.release();
    }
    // Outside a caller transaction too.
    const id = await sink.push('later', {}, { delayMs: 1234 });
    const job = (await admin.getJob(id))!;
    expect(job.runAt.getTime() - job.createdAt.getTime()).toBe(1234);
  });

  it('pushMany stores every option per element and returns ids in input order', async () => {
    // Preassigned ids from the past and the future, so input order is not id order.
    const early = ulid(Date.UTC(2020, 0, 1));
    const late = ulid(Date.UTC(2040, 0, 1));
    const runAt = new Date('2035-05-05T05:05:05.505Z');
    const jobs = [
      { name: 'j0', data: { i: 0 }, options: { id: late } },
      { name: 'j1', data: { i: 1 }, options: { priority: 9, maxAttempts: 2 } },
      { name: 'j2', data: { i: 2 }, options: { runAt, metadata: { m: 2 } } },
      { name: 'j3', data: { i: 3 }, options: { delayMs: 5000, idempotencyKey: 'many-3' } },
      { name: 'j4', data: { i: 4 }, options: { id: early } },
      { name: 'j5', data: { i: 5 } },
    ];
    const ids = await sink.pushMany(jobs);
    expect(ids).toHaveLength(jobs.length);
    expect(ids[0]).toBe(late);
    expect(ids[4]).toBe(early);
    expect(new Set(ids).size).toBe(jobs.length);
    const recs = await Promise.all(ids.map((id) => admin.getJob(id)));
    recs.forEach((r, i) => expect(r).toMatchObject({ name: `j${i}`, data: { i }, queue: 'default' }));
    expect(recs[1]).toMatchObject({ priority: 9, maxAttempts: 2 });
    expect(recs[2]).toMatchObject({ runAt, metadata: { m: 2 } });
    expect(recs[3]!.idempotencyKey).toBe('many-3');
    expect(recs[3]!.runAt.getTime() - recs[3]!.createdAt.getTime()).toBe(5000);
    expect(recs[5]).toMatchObject({ priority: 0, maxAttempts: null, metadata: {}, idempotencyKey: null });
  });

  it('pushMany of 500 returns the ids in input order', async () => {
    const ids = await sinkOf(app, 'other').pushMany(Array.from({ length: 500 }, (_, i) => ({ name: 'bulk', data: { i } })));
    const r = await pool.query<{ id: string; i: number }>(`SELECT id, (payload->>'i')::int AS i FROM "${schema}".jobs WHERE queue = 'other'`);
    const byId = new Map(r.rows.map((row) => [row.id, row.i]));
    expect(ids.map((id) => byId.get(id))).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('pushMany of nothing writes nothing', async () => {
    const before = await countJobs(pool, schema);
    expect(await sink.pushMany([])).toEqual([]);
    expect(await countJobs(pool, schema)).toBe(before);
  });

  it('a preassigned id that is taken is refused with DuplicateJobIdError, nothing written', async () => {
    const id = await sink.push('dup', {});
    const before = await countJobs(pool, schema);
    const err = await rejectionOf(sink.push('dup', {}, { id }));
    expect(err).toBeInstanceOf(DuplicateJobIdError);
    expect(err.jobId).toBe(id);
    const many = await rejectionOf(sink.pushMany([{ name: 'ok', data: 1 }, { name: 'dup', data: 2, options: { id } }]));
    expect(many).toBeInstanceOf(DuplicateJobIdError);
    expect(await countJobs(pool, schema)).toBe(before);
  });
});
