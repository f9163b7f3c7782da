import type { INestApplication } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QueueAdmin, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { accountEmails, countJobs, createDataSource, expectInvalidJob, flushNotifications, listenJobs, sinkOf, type Account } from './support.js';

describe('transactional enqueue through TypeORM (queryRunner, manager)', () => {
  const schema = uniqueSchema('txo');
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;
  let admin: QueueAdmin;
  let ds: DataSource;
  let listener: Awaited<ReturnType<typeof listenJobs>>;

  beforeAll(async () => {
    app = await createQueueApp({ schema });
    sink = sinkOf(app);
    admin = app.get(QueueAdmin);
    ds = await createDataSource(schema);
    listener = await listenJobs(schema);
  });
  beforeEach(async () => {
    await flushNotifications(pool, schema, listener);
    listener.payloads.length = 0;
  });
  afterAll(async () => {
    await listener?.close();
    await ds?.destroy();
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('queryRunner, commit: the job and the row become visible together, NOTIFY only after commit', async () => {
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    let id: string;
    try {
      const user = await qr.manager.save('Account', { email: 'qr-commit@x' }) as Account;
      id = await sink.push('welcome', { userId: user.id }, { queryRunner: qr });
      // Not visible outside the transaction, and no notification yet.
      expect(await admin.getJob(id)).toBeNull();
      expect(await accountEmails(pool, schema)).not.toContain('qr-commit@x');
      await flushNotifications(pool, schema, listener);
      expect(listener.payloads).toEqual([]);
      await qr.commitTransaction();
    } finally {
      await qr.release();
    }
    expect((await admin.getJob(id))?.name).toBe('welcome');
    expect(await accountEmails(pool, schema)).toContain('qr-commit@x');
    await waitFor('notification', () => listener.payloads.some((p) => p.ids.includes(id)));
  });

  it('queryRunner, rollback: neither the job nor the row, and no notification', async () => {
    const before = await countJobs(pool, schema);
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      await qr.manager.save('Account', { email: 'qr-rollback@x' });
      await sink.push('welcome', {}, { queryRunner: qr });
      await sink.pushMany([{ name: 'a', data: 1 }, { name: 'b', data: 2 }], { queryRunner: qr });
      await qr.rollbackTransaction();
    } finally {
      await qr.release();
    }
    expect(await countJobs(pool, schema)).toBe(before);
    expect(await accountEmails(pool, schema)).not.toContain('qr-rollback@x');
    await flushNotifications(pool, schema, listener);
    expect(listener.payloads).toEqual([]);
  });

  it('manager inside dataSource.transaction(): commit makes both visible, NOTIFY only after commit', async () => {
    const ids = await ds.transaction(async (manager) => {
      await manager.save('Account', { email: 'mgr-commit@x' });
      const one = await sink.push('welcome', { via: 'manager' }, { manager });
      const many = await sink.pushMany([{ name: 'm1', data: 1 }, { name: 'm2', data: 2 }], { manager });
      await flushNotifications(pool, schema, listener);
      expect(listener.payloads).toEqual([]);
      expect(await admin.getJob(one)).toBeNull();
      return [one, ...many];
    });
    for (const id of ids) expect((await admin.getJob(id))?.status).toBe('pending');
    expect(await accountEmails(pool, schema)).toContain('mgr-commit@x');
    await waitFor('notifications', () => ids.every((id) => listener.payloads.some((p) => p.ids.includes(id))));
  });

  it('manager, rollback (the callback throws): neither the job nor the row', async () => {
    const before = await countJobs(pool, schema);
    const boom = new Error('business rule failed');
    await expect(
      ds.transaction(async (manager) => {
        await manager.save('Account', { email: 'mgr-rollback@x' });
        await sink.push('welcome', {}, { manager });
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await countJobs(pool, schema)).toBe(before);
    expect(await accountEmails(pool, schema)).not.toContain('mgr-rollback@x');
    await flushNotifications(pool, schema, listener);
    expect(listener.payloads).toEqual([]);
  });

  it('every push option passes through TypeORM exactly (queryRunner and manager)', async () => {
    const runAt = new Date('2032-06-07T08:09:10.111Z');
    const metadata = { source: 'typeorm', n: [1, 2] };
    const [one, many] = await ds.transaction(async (manager) => {
      const a = await sink.push('all', { x: 'é' }, { manager, id: '01ARZ3NDEKTSV4RRFFQ69G5FAV', priority: -3, maxAttempts: 4, runAt, metadata, idempotencyKey: 'orm-1' });
      const b = await sink.pushMany([{ name: 'm', data: [1], options: { delayMs: 2500, idempotencyKey: 'orm-2' } }], { manager });
      return [a, b];
    });
    expect(one).toBe('01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(await admin.getJob(one)).toMatchObject({ data: { x: 'é' }, priority: -3, maxAttempts: 4, runAt, metadata, idempotencyKey: 'orm-1' });
    const b = (await admin.getJob(many[0]))!;
    expect(b).toMatchObject({ data: [1], idempotencyKey: 'orm-2' });
    expect(b.runAt.getTime() - b.createdAt.getTime()).toBe(2500);
  });

  it('a queryRunner with no open transaction is refused (InvalidJobError, options.queryRunner), nothing written', async () => {
    const before = await countJobs(pool, schema);
    const qr = ds.createQueryRunner();
    await qr.connect();
    try {
      const e = await expectInvalidJob(() => sink.push('x', {}, { queryRunner: qr }), 'options.queryRunner');
      expect(e.message).toMatch(/startTransaction/);
      await expectInvalidJob(() => sink.pushMany([{ name: 'x', data: 1 }], { queryRunner: qr }), 'tx.queryRunner');
      // After a commit the transaction is closed again: refused too.
      await qr.startTransaction();
      await qr.commitTransaction();
      await expectInvalidJob(() => sink.push('x', {}, { queryRunner: qr }), 'options.queryRunner');
    } finally {
      await qr.release();
    }
    await expectInvalidJob(() => sink.push('x', {}, { queryRunner: qr }), 'options.queryRunner'); // released
    expect(await countJobs(pool, schema)).toBe(before);
  });

  it('a manager outside a transaction is refused (InvalidJobError, options.manager), nothing written', async () => {
    const before = await countJobs(pool, schema);
    await expectInvalidJob(() => sink.push('x', {}, { manager: ds.manager }), 'options.manager');
    await expectInvalidJob(() => sink.pushMany([{ name: 'x', data: 1 }], { manager: ds.manager }), 'tx.manager');
    expect(await countJobs(pool, schema)).toBe(before);
  });
});
