import { Injectable, type INestApplication } from '@nestjs/common';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { ClsPluginTransactional, Propagation, Transactional, TransactionHost } from '@nestjs-cls/transactional';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { ClsModule } from 'nestjs-cls';
import { EntitySchema } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSinkToken, InjectSink, InvalidQueueOptionsError, QueueAdmin, type QueueSink } from '../../src/index.js';
import { clsTransactions } from '../../src/transactional/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { accountEmails, countJobs } from '../producer/support.js';

const schema = uniqueSchema('cls');
const Account = new EntitySchema<{ id: number; email: string }>({
  name: 'Account',
  tableName: 'accounts',
  schema,
  columns: { id: { type: Number, primary: true, generated: 'increment' }, email: { type: String } },
});

/** A service as teams write it with @nestjs-cls/transactional: no QueryRunner in sight. */
@Injectable()
class Signups {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    @InjectSink('default') private readonly sink: QueueSink,
  ) {}

  @Transactional()
  async signup(email: string, fail = false, during?: (ids: string[]) => Promise<void>): Promise<string> {
    await this.txHost.tx.getRepository(Account).save({ email });
    const id = await this.sink.push('welcome', { email });
    const more = await this.sink.pushMany([{ name: 'audit', data: { email } }]);
    await during?.([id, ...more]);
    if (fail) throw new Error('signup failed after the push');
    return id;
  }

  /** An outer transaction joined by an inner Required call and one Nested call that rolls back. */
  @Transactional()
  async signupWithNested(email: string): Promise<{ outer: string; inner: string; nested?: string }> {
    const outer = await this.sink.push('welcome', { email });
    const inner = await this.joinRequired(email);
    let nested: string | undefined;
    try {
      await this.nestedThatFails(email, (id) => (nested = id));
    } catch {
      // The savepoint rolled back; the outer transaction goes on.
    }
    await this.txHost.tx.getRepository(Account).save({ email });
    return { outer, inner, nested };
  }

  @Transactional(Propagation.Required)
  async joinRequired(email: string): Promise<string> {
    return this.sink.push('audit', { email });
  }

  @Transactional(Propagation.Nested)
  async nestedThatFails(email: string, seen: (id: string) => void): Promise<void> {
    seen(await this.sink.push('nested', { email }));
    throw new Error('nested part fails');
  }

  @Transactional()
  async explicitWins(email: string, explicit: () => Promise<string>): Promise<string> {
    await this.txHost.tx.getRepository(Account).save({ email });
    return explicit();
  }

  /** No transaction: the push autocommits on the queue's pool. */
  async outside(): Promise<string> {
    return this.sink.push('welcome', { email: 'outside@x' });
  }
}

describe('ambient transactions: @Transactional() of @nestjs-cls/transactional (TypeORM adapter)', () => {
  const pool = testPool();
  let app: INestApplication;
  let signups: Signups;
  let admin: QueueAdmin;

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.accounts (id serial PRIMARY KEY, email text NOT NULL)`);
    app = await createQueueApp(
      { schema, ambientTransactions: clsTransactions(), workers: false },
      [Signups],
      [
        TypeOrmModule.forRoot({ type: 'postgres', url: databaseUrl(), schema, entities: [Account], poolSize: 3 }),
        ClsModule.forRoot({
          global: true,
          plugins: [new ClsPluginTransactional({ imports: [TypeOrmModule], adapter: new TransactionalAdapterTypeOrm({ dataSourceToken: getDataSourceToken() }) })],
        }),
      ],
    );
    signups = app.get(Signups);
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('commit: the row and the job are written together', async () => {
    let ids: string[] = [];
    const id = await signups.signup('commit@x', false, async (pushed) => {
      ids = pushed;
      // Inside the transaction: nothing visible to anyone else yet.
      for (const j of pushed) expect(await admin.getJob(j)).toBeNull();
      expect(await accountEmails(pool, schema)).not.toContain('commit@x');
    });
    expect((await admin.getJob(id))?.data).toEqual({ email: 'commit@x' });
    expect((await admin.getJob(ids[1]))?.name).toBe('audit');
    expect(await accountEmails(pool, schema)).toContain('commit@x');
  });

  it('rollback: a throw after the push leaves neither the row nor the job', async () => {
    const before = await countJobs(pool, schema);
    await expect(signups.signup('rollback@x', true)).rejects.toThrow('signup failed after the push');
    expect(await countJobs(pool, schema)).toBe(before);
    expect(await accountEmails(pool, schema)).not.toContain('rollback@x');
  });

  it('nested propagation: Required joins the outer transaction, a failed Nested rolls back only its savepoint', async () => {
    const { outer, inner, nested } = await signups.signupWithNested('nested@x');
    expect(nested).toBeDefined();
    expect(await admin.getJob(outer)).not.toBeNull();
    expect(await admin.getJob(inner)).not.toBeNull();
    expect(await admin.getJob(nested!)).toBeNull();
    expect(await accountEmails(pool, schema)).toContain('nested@x');
  });

  it('an explicit transaction wins over the ambient one', async () => {
    const ds = app.get(getDataSourceToken());
    const qr = ds.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      const sink = app.get(Signups)['sink'] as QueueSink;
      const id = await signups.explicitWins('explicit@x', () => sink.push('welcome', {}, { queryRunner: qr }));
      // The ambient transaction committed; the job is in the explicit one, not yet committed.
      expect(await accountEmails(pool, schema)).toContain('explicit@x');
      expect(await admin.getJob(id)).toBeNull();
      await qr.rollbackTransaction();
      expect(await admin.getJob(id)).toBeNull();
    } finally {
      await qr.release();
    }
  });

  it('outside any transaction the push autocommits at once', async () => {
    const id = await signups.outside();
    expect((await admin.getJob(id))?.status).toBe('pending');
  });
});

describe('ambient transactions: misconfiguration', () => {
  it('clsTransactions() with a connectionName nobody registered: a push rejects naming the option, nothing written', async () => {
    const schema2 = uniqueSchema('clsx');
    const pool = testPool();
    const app = await createQueueApp({ schema: schema2, ambientTransactions: clsTransactions({ connectionName: 'nope' }), workers: false });
    try {
      const err = await (app.get(getSinkToken('default')) as QueueSink).push('x', 1).catch((e) => e);
      expect(err).toBeInstanceOf(InvalidQueueOptionsError);
      expect(err.option).toBe('ambientTransactions');
      expect(err.message).toContain('connectionName "nope"');
      expect(await countJobs(pool, schema2)).toBe(0);
    } finally {
      await app.close();
      await dropSchema(pool, schema2);
      await pool.end();
    }
  });

  it('a value that is not clsTransactions() is refused at boot, naming the option', async () => {
    await expect(createQueueApp({ schema: uniqueSchema('clsy'), ambientTransactions: {} as never })).rejects.toThrow(/option "ambientTransactions"/);
  });
});
