import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { flushNotifications, listenJobs, sinkOf } from './support.js';

describe('the insert trigger NOTIFYs {queue, ids} once per statement, on commit', () => {
  const schema = uniqueSchema('ntf');
  const pool = testPool();
  let app: INestApplication;
  let listener: Awaited<ReturnType<typeof listenJobs>>;

  beforeAll(async () => {
    app = await createQueueApp({ schema, queues: ['default', 'other'] });
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

  it('pushMany of 3 sends exactly one notification carrying the queue and the 3 ids', async () => {
    const ids = await sinkOf(app).pushMany([
      { name: 'a', data: 1 },
      { name: 'b', data: 2 },
      { name: 'c', data: 3 },
    ]);
    await flushNotifications(pool, schema, listener);
    expect(listener.payloads).toHaveLength(1);
    const [n] = listener.payloads;
    expect(n.queue).toBe('default');
    expect([...n.ids].sort()).toEqual([...ids].sort());
  });

  it("says where the pushed jobs sort: 'top' their highest priority, 'firstMs' their earliest run_at in epoch ms (for the claim floor)", async () => {
    const early = new Date('2021-03-04T05:06:07.890Z');
    await sinkOf(app).pushMany([
      { name: 'a', data: 1, options: { priority: 3, runAt: new Date('2030-01-01T00:00:00Z') } },
      { name: 'b', data: 2, options: { priority: -2, runAt: early } },
      { name: 'c', data: 3 },
    ]);
    await flushNotifications(pool, schema, listener);
    expect(listener.payloads).toHaveLength(1);
    const n = listener.payloads[0] as unknown as { top: number; firstMs: number };
    expect(n.top).toBe(3);
    expect(n.firstMs).toBe(early.getTime());
  });

  it('one push sends one notification with its id; each queue is named', async () => {
    const a = await sinkOf(app).push('x', {});
    const b = await sinkOf(app, 'other').push('y', {});
    await flushNotifications(pool, schema, listener);
    expect(listener.payloads.map((p) => [p.queue, p.ids])).toEqual([
      ['default', [a]],
      ['other', [b]],
    ]);
  });

  it('nothing is delivered before commit, one notification after; nothing after a rollback', async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const ids = await sinkOf(app).pushMany(
        [
          { name: 'a', data: 1 },
          { name: 'b', data: 2 },
          { name: 'c', data: 3 },
        ],
        { client },
      );
      await flushNotifications(pool, schema, listener);
      expect(listener.payloads).toEqual([]);
      await client.query('COMMIT');
      // Delivered in commit order: once the marker sent after our commit arrives, ours has too.
      await flushNotifications(pool, schema, listener);
      const got = listener.payloads;
      expect(got).toHaveLength(1);
      expect([...got[0].ids].sort()).toEqual([...ids].sort());

      listener.payloads.length = 0;
      await client.query('BEGIN');
      await sinkOf(app).push('gone', {}, { client });
      await client.query('ROLLBACK');
      await flushNotifications(pool, schema, listener);
      expect(listener.payloads).toEqual([]);
    } finally {
      client.release();
    }
  });
});
