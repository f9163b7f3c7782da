/**
 * `{ transaction: true }` handlers on the app's TypeORM DataSource (`dataSource` option):
 * `job.manager` writes entities in the attempt's transaction, which commits with the job's
 * completion and rolls back with its failure; a DataSource that does not reach the queue's
 * database, and option values that are not a DataSource, are refused at boot.
 */
import { Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidQueueOptionsError, Process, Processor, ProcessorDefinitionError, QueueAdmin, type TransactionalJob } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { accountEmails, createDataSource, rejectionOf, sinkOf } from '../producer/support.js';

const seen: { viaClient?: number } = {};
const scope = schemaScope('htxo');
const schema = scope.fresh();

@Processor('signup')
@Injectable()
class SignupProcessor {
  @Process('create-account', { transaction: true, maxAttempts: 1 })
  async create(job: TransactionalJob<{ email: string; fail?: boolean }, EntityManager>) {
    await job.manager.getRepository('Account').insert({ email: job.data.email });
    // job.client is the same connection: it sees the uncommitted row.
    const r = await job.client.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema)}.accounts WHERE email = $1`, [job.data.email]);
    seen.viaClient = r.rows[0].n;
    if (job.data.fail) throw new Error('welcome mail refused');
    return { created: job.data.email };
  }
}

describe('handler transactions: job.manager on the dataSource option', () => {
  let ds: DataSource;
  let app: INestApplication;
  let admin: QueueAdmin;

  beforeAll(async () => {
    await scope.pool.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
    ds = await createDataSource(schema);
    app = await createQueueApp({ schema, queues: ['signup'], dataSource: ds }, [SignupProcessor]);
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app?.close();
    await ds?.destroy();
    await scope.dispose();
  });

  const settled = (id: string, status: string) =>
    waitFor(`job ${id} to be ${status}`, async () => {
      const j = await admin.getJob(id);
      return j?.status === status ? j : null;
    });

  it('commits the entity with the job\'s completion', async () => {
    const id = await sinkOf(app, 'signup').push('create-account', { email: 'a@example.com' });
    expect((await settled(id, 'done')).result).toEqual({ created: 'a@example.com' });
    expect(seen.viaClient).toBe(1);
    expect(await accountEmails(scope.pool, schema)).toEqual(['a@example.com']);
  });

  it('rolls the entity back when the handler fails, and records the failure', async () => {
    const id = await sinkOf(app, 'signup').push('create-account', { email: 'b@example.com', fail: true });
    const job = await settled(id, 'killed');
    expect(job.lastError).toContain('welcome mail refused');
    expect(seen.viaClient).toBe(1);
    expect(await accountEmails(scope.pool, schema)).toEqual(['a@example.com']);
  });

  it('a constraint that fails in the handler\'s transaction fails the attempt and commits nothing', async () => {
    // accounts.email is unique: the insert fails inside the transaction.
    const id = await sinkOf(app, 'signup').push('create-account', { email: 'a@example.com' });
    const job = await settled(id, 'killed');
    expect(job.lastError).toMatch(/duplicate key|unique/);
    expect(await accountEmails(scope.pool, schema)).toEqual(['a@example.com']);
  });

  it('refuses at boot a DataSource that does not reach the queue\'s database', async () => {
    const other = scope.fresh();
    // A database of its own (from template0: nothing else may be connected to a template it copies).
    const database = `htxo_other_${other}`;
    await scope.pool.query(`CREATE DATABASE ${database} TEMPLATE template0`);
    const url = new URL(databaseUrl());
    url.pathname = `/${database}`;
    const elsewhere = new DataSource({ type: 'postgres', url: url.toString(), poolSize: 2 });
    await elsewhere.initialize();
    try {
      const err = await rejectionOf(createQueueApp({ schema: other, queues: ['signup'], dataSource: elsewhere }, [SignupProcessor]));
      expect(err).toBeInstanceOf(InvalidQueueOptionsError);
      expect(err.option).toBe('dataSource');
      expect(err.message).toContain(`${other}.jobs`);
    } finally {
      await elsewhere.destroy();
      await scope.pool.query(`DROP DATABASE ${database}`);
    }
  });

  it('refuses option values that are not a postgres DataSource, and a non-boolean transaction', async () => {
    for (const [value, text] of [
      [{}, 'createQueryRunner'],
      ['postgres://x', 'createQueryRunner'],
      [{ createQueryRunner() {}, options: { type: 'mysql' } }, '"postgres" driver'],
    ] as const) {
      const err = await rejectionOf(createQueueApp({ schema: scope.fresh(), queues: ['signup'], dataSource: value as never }));
      expect(err).toBeInstanceOf(InvalidQueueOptionsError);
      expect(err.option).toBe('dataSource');
      expect(err.message).toContain(text);
    }
    @Processor('signup')
    @Injectable()
    class Wrong {
      @Process('x', { transaction: 'yes' as never })
      x() {}
    }
    const err = await rejectionOf(createQueueApp({ schema: scope.fresh(), queues: ['signup'] }, [Wrong]));
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toContain('Wrong.x: transaction must be a boolean');
  });
});
