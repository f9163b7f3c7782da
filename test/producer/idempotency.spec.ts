import type { INestApplication } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyConflictError, QueueAdmin, QueueError, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { accountEmails, countJobs, createDataSource, rejectionOf, sinkOf } from './support.js';

function expectConflict(err: unknown, queue: string, key: string): void {
  expect(err).toBeInstanceOf(IdempotencyConflictError);
  expect(err).toBeInstanceOf(QueueError);
  const e = err as IdempotencyConflictError;
  expect(e.code).toBe('IDEMPOTENCY_CONFLICT');
  expect(e.queue).toBe(queue);
  expect(e.idempotencyKey).toBe(key);
  expect(e.message).toContain(key);
}

describe('idempotency keys', () => {
  const schema = uniqueSchema('idem');
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;
  let ds: DataSource;

  beforeAll(async () => {
    app = await createQueueApp({ schema, queues: ['default', 'other'] });
    sink = sinkOf(app);
    ds = await createDataSource(schema);
  });
  afterAll(async () => {
    await ds?.destroy();
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('outside a transaction: a second push with the key throws IdempotencyConflictError, nothing written', async () => {
    const first = await sink.push('welcome', { n: 1 }, { idempotencyKey: 'k-plain' });
    const before = await countJobs(pool, schema);
    expectConflict(await rejectionOf(sink.push('welcome', { n: 2 }, { idempotencyKey: 'k-plain' })), 'default', 'k-plain');
    expect(await countJobs(pool, schema)).toBe(before);
    expect((await app.get(QueueAdmin).getJob(first))?.data).toEqual({ n: 1 });
    // Keys are unique per queue: the same key in another queue is fine.
    await sinkOf(app, 'other').push('welcome', {}, { idempotencyKey: 'k-plain' });
  });

  it('pushMany: the conflicting key is named, and none of the batch is written', async () => {
    await sink.push('x', {}, { idempotencyKey: 'k-batch-existing' });
    const before = await countJobs(pool, schema);
    const err = await rejectionOf(
      sink.pushMany([
        { name: 'a', data: 1, options: { idempotencyKey: 'k-batch-new-1' } },
        { name: 'b', data: 2 },
        { name: 'c', data: 3, options: { idempotencyKey: 'k-batch-existing' } },
        { name: 'd', data: 4, options: { idempotencyKey: 'k-batch-new-2' } },
      ]),
    );
    expectConflict(err, 'default', 'k-batch-existing');
    expect(await countJobs(pool, schema)).toBe(before);
    // The same key twice within one batch.
    const dup = await rejectionOf(
      sink.pushMany([
        { name: 'a', data: 1, options: { idempotencyKey: 'k-twice' } },
        { name: 'b', data: 2, options: { idempotencyKey: 'k-twice' } },
      ]),
    );
    expectConflict(dup, 'default', 'k-twice');
    expect(await countJobs(pool, schema)).toBe(before);
  });

  it("queryRunner: the conflict rolls back only the push; the caller's writes still commit", async () => {
    await sink.push('x', {}, { idempotencyKey: 'k-qr' });
    const before = await countJobs(pool, schema);
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    let kept: string;
    try {
      await qr.manager.save('Account', { email: 'qr-before@x' });
      expectConflict(await rejectionOf(sink.push('x', {}, { idempotencyKey: 'k-qr', queryRunner: qr })), 'default', 'k-qr');
      await qr.manager.save('Account', { email: 'qr-after@x' });
      kept = await sink.push('y', {}, { queryRunner: qr });
      await qr.commitTransaction();
    } finally {
      await qr.release();
    }
    expect(await accountEmails(pool, schema)).toEqual(expect.arrayContaining(['qr-before@x', 'qr-after@x']));
    expect(await countJobs(pool, schema)).toBe(before + 1);
    expect(await app.get(QueueAdmin).getJob(kept)).not.toBeNull();
  });

  it("manager: the conflict is caught inside dataSource.transaction() and the caller's writes commit", async () => {
    await sink.push('x', {}, { idempotencyKey: 'k-mgr' });
    const before = await countJobs(pool, schema);
    const kept = await ds.transaction(async (manager) => {
      await manager.save('Account', { email: 'mgr-before@x' });
      const many = await rejectionOf(
        sink.pushMany(
          [
            { name: 'a', data: 1, options: { idempotencyKey: 'k-mgr-new' } },
            { name: 'b', data: 2, options: { idempotencyKey: 'k-mgr' } },
          ],
          { manager },
        ),
      );
      expectConflict(many, 'default', 'k-mgr'); // named by a lookup inside the caller's transaction
      await manager.save('Account', { email: 'mgr-after@x' });
      return sink.push('y', {}, { manager, idempotencyKey: 'k-mgr-new' });
    });
    expect(await accountEmails(pool, schema)).toEqual(expect.arrayContaining(['mgr-before@x', 'mgr-after@x']));
    expect(await countJobs(pool, schema)).toBe(before + 1);
    expect((await app.get(QueueAdmin).getJob(kept))?.idempotencyKey).toBe('k-mgr-new');
  });

  it("pg client: the conflict leaves the caller's transaction usable and committable", async () => {
    await sink.push('x', {}, { idempotencyKey: 'k-client' });
    const before = await countJobs(pool, schema);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO "${schema}".accounts (email) VALUES ('client-before@x')`);
      expectConflict(await rejectionOf(sink.push('x', {}, { idempotencyKey: 'k-client', client })), 'default', 'k-client');
      await client.query(`INSERT INTO "${schema}".accounts (email) VALUES ('client-after@x')`);
      await sink.push('y', {}, { client });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await accountEmails(pool, schema)).toEqual(expect.arrayContaining(['client-before@x', 'client-after@x']));
    expect(await countJobs(pool, schema)).toBe(before + 1);
  });
});
