import { Injectable, type INestApplication } from '@nestjs/common';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdempotencyConflictError, Process, Processor, QueueAdmin, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { pgbouncerWanted } from '../helpers/pgbouncer.js';
import { waitFor } from '../helpers/wait.js';
import { accountEmails, rejectionOf, sinkOf } from '../producer/support.js';
import { pooledDataSource, throughPooler, usePgBouncer, type Account } from './support.js';

const ran = new Set<string>();

@Processor('default')
@Injectable()
class Recorder {
  @Process('welcome')
  welcome(job: Job) {
    ran.add(job.id);
  }
}

describe.runIf(pgbouncerWanted)('producer through PgBouncer in transaction mode (preparedStatements: false)', () => {
  const pooler = usePgBouncer();
  const schema = uniqueSchema('pgbp');
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;
  let admin: QueueAdmin;
  let ds: DataSource;
  let clients: pg.Pool;

  beforeAll(async () => {
    app = await createQueueApp(throughPooler(pooler.url, schema), [Recorder]);
    sink = sinkOf(app);
    admin = app.get(QueueAdmin);
    ds = await pooledDataSource(pooler.url, schema);
    clients = new pg.Pool({ connectionString: pooler.url, max: 3 });
  });
  afterAll(async () => {
    await clients?.end();
    await ds?.destroy();
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const runs = (id: string) => waitFor(`job ${id} to run through the pooler`, () => ran.has(id));

  it('queryRunner: commit makes the job and the row visible together and the job runs; rollback leaves neither', async () => {
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    const user = (await qr.manager.save('Account', { email: 'qr-commit@x' })) as Account;
    const id = await sink.push('welcome', { userId: user.id }, { queryRunner: qr });
    expect(await admin.getJob(id)).toBeNull();
    await qr.commitTransaction();
    await qr.release();
    expect(await accountEmails(pool, schema)).toContain('qr-commit@x');
    await runs(id);

    const rq = ds.createQueryRunner();
    await rq.connect();
    await rq.startTransaction();
    await rq.manager.save('Account', { email: 'qr-rollback@x' });
    const gone = await sink.push('welcome', {}, { queryRunner: rq });
    await rq.rollbackTransaction();
    await rq.release();
    expect(await admin.getJob(gone)).toBeNull();
    expect(await accountEmails(pool, schema)).not.toContain('qr-rollback@x');
  });

  it('EntityManager inside transaction(): commit and rollback', async () => {
    const id = await ds.transaction(async (manager) => {
      await manager.save('Account', { email: 'em-commit@x' });
      return sink.push('welcome', {}, { manager });
    });
    await runs(id);
    let rolledBack = '';
    const err = await rejectionOf(
      ds.transaction(async (manager) => {
        await manager.save('Account', { email: 'em-rollback@x' });
        rolledBack = await sink.push('welcome', {}, { manager });
        throw new Error('abort');
      }),
    );
    expect(err.message).toBe('abort');
    expect(await admin.getJob(rolledBack)).toBeNull();
    expect(await accountEmails(pool, schema)).toEqual(expect.arrayContaining(['em-commit@x']));
    expect(await accountEmails(pool, schema)).not.toContain('em-rollback@x');
  });

  it('a pg client transaction: commit and rollback', async () => {
    const client = await clients.connect();
    try {
      await client.query('BEGIN');
      const id = await sink.push('welcome', {}, { client });
      await client.query('COMMIT');
      await runs(id);
      await client.query('BEGIN');
      const gone = await sink.push('welcome', {}, { client });
      await client.query('ROLLBACK');
      expect(await admin.getJob(gone)).toBeNull();
    } finally {
      client.release();
    }
  });

  it('pushMany in a transaction: one statement, ids in input order, every job runs', async () => {
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    const ids = await sink.pushMany(
      Array.from({ length: 50 }, (_, i) => ({ name: 'welcome', data: { i } })),
      { queryRunner: qr },
    );
    await qr.commitTransaction();
    await qr.release();
    expect(ids).toHaveLength(50);
    const rows = await pool.query<{ id: string; i: number }>(`SELECT id, (payload->>'i')::int AS i FROM ${schema}.jobs WHERE id = ANY($1)`, [ids]);
    expect(new Map(rows.rows.map((r) => [r.id, r.i]))).toEqual(new Map(ids.map((id, i) => [id, i])));
    await waitFor('all 50 to run', () => ids.every((id) => ran.has(id)));
  });

  it('an idempotency conflict inside a transaction rolls back only its savepoint: the transaction goes on and commits', async () => {
    await sink.push('welcome', {}, { idempotencyKey: 'once' });
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      await qr.manager.save('Account', { email: 'before-conflict@x' });
      const err = await rejectionOf(sink.push('welcome', {}, { idempotencyKey: 'once', queryRunner: qr }));
      expect(err).toBeInstanceOf(IdempotencyConflictError);
      expect(err.idempotencyKey).toBe('once');
      await qr.manager.save('Account', { email: 'after-conflict@x' });
      const id = await sink.push('welcome', {}, { queryRunner: qr, idempotencyKey: 'twice' });
      await qr.commitTransaction();
      await runs(id);
    } finally {
      await qr.release();
    }
    expect(await accountEmails(pool, schema)).toEqual(expect.arrayContaining(['before-conflict@x', 'after-conflict@x']));
    const keys = await pool.query(`SELECT idempotency_key FROM ${schema}.jobs WHERE idempotency_key IN ('once', 'twice')`);
    expect(keys.rows).toHaveLength(2);
  });

  it('concurrent pushes outside a transaction (direct starts and plain inserts) all land and run', async () => {
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => sink.push('welcome', { i })));
    expect(new Set(ids).size).toBe(40);
    await waitFor('all 40 to run', () => ids.every((id) => ran.has(id)));
  });
});
