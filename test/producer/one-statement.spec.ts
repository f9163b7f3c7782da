import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { createQueueApp } from '../helpers/app.js';
import { countInsertStatements, countJobs, sinkOf } from './support.js';

/** A pg.Pool that records the text of every statement sent through `pool.query`. */
class RecordingPool extends pg.Pool {
  readonly texts: string[] = [];
  override query(...args: any[]): any {
    const q = args[0];
    this.texts.push(typeof q === 'string' ? q : q.text);
    return (super.query as (...a: any[]) => any)(...args);
  }
}

/** Wraps a client's `query`, recording the text of every statement sent through it. */
function recording(client: pg.PoolClient): { client: pg.PoolClient; texts: string[] } {
  const texts: string[] = [];
  const query = client.query.bind(client) as (...a: any[]) => any;
  const wrapped = Object.create(client) as pg.PoolClient;
  (wrapped as any).query = (...args: any[]) => {
    const q = args[0];
    texts.push(typeof q === 'string' ? q : q.text);
    return query(...args);
  };
  return { client: wrapped, texts };
}

describe('pushMany of N jobs is one INSERT statement', () => {
  const schema = uniqueSchema('one');
  const pool = testPool();
  const own = new RecordingPool({ connectionString: databaseUrl(), max: 3 });
  own.on('error', () => undefined);
  let app: INestApplication;

  let insertStatementsSeen: () => Promise<number>;

  beforeAll(async () => {
    app = await createQueueApp({ schema, connection: undefined, pool: own });
    // The server's own count: a statement-level trigger fires once per INSERT statement, however many rows.
    insertStatementsSeen = await countInsertStatements(pool, schema);
  });
  afterAll(async () => {
    await app?.close();
    await own.end();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('on the queue pool: 1,000 jobs = one query sent and one INSERT statement executed', async () => {
    own.texts.length = 0;
    const before = await insertStatementsSeen();
    const ids = await sinkOf(app).pushMany(Array.from({ length: 1000 }, (_, i) => ({ name: 'n', data: { i }, options: { priority: i % 5 } })));
    expect(ids).toHaveLength(1000);
    expect(own.texts).toHaveLength(1);
    expect(own.texts[0]).toMatch(/^INSERT INTO/);
    expect(await insertStatementsSeen()).toBe(before + 1);
    expect(await countJobs(pool, schema)).toBe(1000);
  });

  it("in the caller's pg transaction: one INSERT between a savepoint and its release", async () => {
    const raw = await pool.connect();
    try {
      const { client, texts } = recording(raw);
      await raw.query('BEGIN');
      const before = await insertStatementsSeen();
      const ids = await sinkOf(app).pushMany(Array.from({ length: 250 }, (_, i) => ({ name: 'tx', data: i })), { client });
      await raw.query('COMMIT');
      expect(ids).toHaveLength(250);
      expect(texts.filter((t) => /^\s*INSERT/i.test(t))).toHaveLength(1);
      expect(texts.map((t) => t.split(/\s/)[0])).toEqual(['SAVEPOINT', 'INSERT', 'RELEASE']);
      expect(await insertStatementsSeen()).toBe(before + 1);
    } finally {
      raw.release();
    }
  });

  it('a single push is one statement too', async () => {
    own.texts.length = 0;
    const before = await insertStatementsSeen();
    await sinkOf(app).push('single', {});
    expect(own.texts).toHaveLength(1);
    expect(await insertStatementsSeen()).toBe(before + 1);
  });
});
