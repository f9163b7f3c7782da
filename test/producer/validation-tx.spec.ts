import type { INestApplication } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { accountEmails, countJobs, createDataSource, expectInvalidJob, sinkOf } from './support.js';

describe('transaction options: at most one, and the TypeORM transaction stays usable after a refusal', () => {
  const schema = uniqueSchema('valt');
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;
  let ds: DataSource;

  beforeAll(async () => {
    app = await createQueueApp({ schema });
    sink = sinkOf(app);
    ds = await createDataSource(schema);
  });
  afterAll(async () => {
    await ds?.destroy();
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('more than one of queryRunner / manager / client is refused, naming the extra one', async () => {
    const client = await pool.connect();
    const qr = ds.createQueryRunner();
    await qr.connect();
    try {
      await client.query('BEGIN');
      await qr.startTransaction();
      await ds.transaction(async (manager) => {
        await expectInvalidJob(() => sink.push('x', {}, { queryRunner: qr, client }), 'options.client');
        await expectInvalidJob(() => sink.push('x', {}, { queryRunner: qr, manager }), 'options.manager');
        await expectInvalidJob(() => sink.push('x', {}, { manager, client }), 'options.client');
        await expectInvalidJob(() => sink.pushMany([{ name: 'x', data: 1 }], { queryRunner: qr, manager }), 'tx.manager');
        await expectInvalidJob(() => sink.pushMany([{ name: 'x', data: 1 }], { manager, client }), 'tx.client');
      });
      await qr.commitTransaction();
      await client.query('COMMIT');
    } finally {
      await qr.release();
      client.release();
    }
    expect(await countJobs(pool, schema)).toBe(0);
  });

  it('after bad inputs inside a queryRunner transaction, the caller still writes and commits', async () => {
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    let id: string;
    try {
      await qr.manager.save('Account', { email: 'valt-qr@x' });
      await expectInvalidJob(() => sink.push('', {}, { queryRunner: qr }), 'name');
      await expectInvalidJob(() => sink.push('x', 1n, { queryRunner: qr }), 'data');
      await expectInvalidJob(() => sink.push('x', {}, { queryRunner: qr, priority: 1.5 }), 'options.priority');
      await expectInvalidJob(() => sink.pushMany([{ name: 'x', data: 1 }, { name: 'y', data: 1, options: { maxAttempts: 0 } }], { queryRunner: qr }), 'jobs[1].options.maxAttempts');
      await qr.manager.save('Account', { email: 'valt-qr-after@x' });
      id = await sink.push('ok', {}, { queryRunner: qr });
      await qr.commitTransaction();
    } finally {
      await qr.release();
    }
    expect(await accountEmails(pool, schema)).toEqual(expect.arrayContaining(['valt-qr@x', 'valt-qr-after@x']));
    expect(await countJobs(pool, schema)).toBe(1);
    expect(id).toBeTruthy();
  });

  it('after bad inputs inside dataSource.transaction(), the caller still writes and commits', async () => {
    await ds.transaction(async (manager) => {
      await manager.save('Account', { email: 'valt-mgr@x' });
      await expectInvalidJob(() => sink.push('x', {}, { manager, runAt: new Date('x') }), 'options.runAt');
      await expectInvalidJob(() => sink.push('x', {}, { manager, metadata: [] as never }), 'options.metadata');
      await sink.push('ok', {}, { manager });
    });
    expect(await accountEmails(pool, schema)).toContain('valt-mgr@x');
    expect(await countJobs(pool, schema)).toBe(2);
  });
});
