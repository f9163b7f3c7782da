import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QueueAdmin, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { countJobs, expectInvalidJob, flushNotifications, listenJobs, sinkOf } from './support.js';

describe('transactional enqueue through a pg client inside BEGIN', () => {
  const schema = uniqueSchema('txc');
  const s = pg.escapeIdentifier(schema);
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;
  let admin: QueueAdmin;
  let listener: Awaited<ReturnType<typeof listenJobs>>;

  const orders = async (): Promise<string[]> => (await pool.query(`SELECT ref FROM ${s}.orders ORDER BY ref`)).rows.map((r) => r.ref);

  beforeAll(async () => {
    app = await createQueueApp({ schema });
    sink = sinkOf(app);
    admin = app.get(QueueAdmin);
    await pool.query(`CREATE TABLE ${s}.orders (ref text PRIMARY KEY)`);
    listener = await listenJobs(schema);
  });
  beforeEach(async () => {
    await flushNotifications(pool, schema, listener);
    listener.payloads.length = 0;
  });
  afterAll(async () => {
    await listener?.close();
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('PoolClient, commit: job and row visible together; NOTIFY only after commit', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${s}.orders VALUES ('o-commit')`);
      const id = await sink.push('ship', { ref: 'o-commit' }, { client });
      const many = await sink.pushMany([{ name: 'a', data: 1 }, { name: 'b', data: 2 }], { client });
      expect(await admin.getJob(id)).toBeNull();
      await flushNotifications(pool, schema, listener);
      expect(listener.payloads).toEqual([]);
      await client.query('COMMIT');

      for (const j of [id, ...many]) expect((await admin.getJob(j))?.status).toBe('pending');
      expect(await orders()).toContain('o-commit');
      await flushNotifications(pool, schema, listener);
      expect(listener.payloads).toHaveLength(2); // one per INSERT statement
      expect(listener.payloads.flatMap((p) => p.ids).sort()).toEqual([id, ...many].sort());
    } finally {
      client.release();
    }
  });

  it('a plain pg.Client works the same way; rollback leaves neither job nor row nor notification', async () => {
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      const before = await countJobs(pool, schema);
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${s}.orders VALUES ('o-rollback')`);
      await sink.push('ship', {}, { client });
      await sink.pushMany([{ name: 'x', data: 1 }], { client });
      await client.query('ROLLBACK');
      expect(await countJobs(pool, schema)).toBe(before);
      expect(await orders()).not.toContain('o-rollback');
      await flushNotifications(pool, schema, listener);
      expect(listener.payloads).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('a client not inside BEGIN is refused with InvalidJobError and nothing is written', async () => {
    const client = await pool.connect();
    try {
      const before = await countJobs(pool, schema);
      const e = await expectInvalidJob(() => sink.push('x', {}, { client }), 'options.client');
      expect(e.message).toMatch(/BEGIN/);
      await expectInvalidJob(() => sink.pushMany([{ name: 'x', data: 1 }], { client }), 'tx.client');
      expect(await countJobs(pool, schema)).toBe(before);
      // The client is left as it was and still usable.
      expect((await client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      await client.query('BEGIN');
      const id = await sink.push('x', {}, { client });
      await client.query('COMMIT');
      expect(await admin.getJob(id)).not.toBeNull();
    } finally {
      client.release();
    }
  });
});
