import { Injectable, type INestApplication } from '@nestjs/common';
import { ClsPluginTransactional, InjectTransactionHost, Transactional, TransactionHost, type TransactionalAdapter } from '@nestjs-cls/transactional';
import { ClsModule } from 'nestjs-cls';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InjectSink, QueueAdmin, type QueueSink } from '../../src/index.js';
import { clsTransactions } from '../../src/transactional/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { countJobs } from '../producer/support.js';

/**
 * A minimal adapter whose transaction object is a `pg` client, as a team without an ORM would write
 * one (nestjs-cls ships none for plain pg): BEGIN on a pooled client, COMMIT or ROLLBACK after.
 */
function pgAdapter(pool: pg.Pool): TransactionalAdapter<pg.Pool, pg.PoolClient | pg.Pool, object> {
  return {
    connection: pool,
    optionsFactory: (p) => ({
      wrapWithTransaction: async (_options, fn, setTx) => {
        const client = await p.connect();
        try {
          await client.query('BEGIN');
          setTx(client);
          const result = await fn();
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        } finally {
          client.release();
        }
      },
      getFallbackInstance: () => p,
    }),
  };
}

const schema = uniqueSchema('clspg');

@Injectable()
class Orders {
  constructor(
    @InjectTransactionHost('pg') private readonly txHost: TransactionHost<ReturnType<typeof pgAdapter>>,
    @InjectSink('default') private readonly sink: QueueSink,
  ) {}

  @Transactional('pg')
  async place(sku: string, fail = false): Promise<string> {
    await (this.txHost.tx as pg.PoolClient).query(`INSERT INTO ${schema}.orders (sku) VALUES ($1)`, [sku]);
    const id = await this.sink.push('ship', { sku });
    if (fail) throw new Error('payment declined');
    return id;
  }
}

describe('ambient transactions: an adapter whose transaction is a pg client, on a named connection', () => {
  const pool = testPool();
  const appPool = testPool(3);
  let app: INestApplication;
  let orders: Orders;

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await pool.query(`CREATE TABLE IF NOT EXISTS ${schema}.orders (sku text NOT NULL)`);
    app = await createQueueApp({ schema, ambientTransactions: clsTransactions({ connectionName: 'pg' }), workers: false }, [Orders], [
      ClsModule.forRoot({ global: true, plugins: [new ClsPluginTransactional({ connectionName: 'pg', adapter: pgAdapter(appPool) })] }),
    ]);
    orders = app.get(Orders);
  });
  afterAll(async () => {
    await app?.close();
    await appPool.end();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const skus = async () => (await pool.query(`SELECT sku FROM ${schema}.orders ORDER BY sku`)).rows.map((r) => r.sku);

  it('commit: the order and its job together', async () => {
    const id = await orders.place('A-1');
    expect((await app.get(QueueAdmin).getJob(id))?.data).toEqual({ sku: 'A-1' });
    expect(await skus()).toContain('A-1');
  });

  it('rollback: neither the order nor the job', async () => {
    const before = await countJobs(pool, schema);
    await expect(orders.place('B-2', true)).rejects.toThrow('payment declined');
    expect(await countJobs(pool, schema)).toBe(before);
    expect(await skus()).not.toContain('B-2');
  });
});
