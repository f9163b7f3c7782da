/**
 * ThroughputMinutes: the whole hour on the first read, then only the current and previous minute,
 * whose counts replace the kept ones; older minutes are kept until the next full read.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../../src/index.js';
import { ThroughputMinutes } from '../../src/dashboard/throughput-minutes.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';

describe('dashboard throughput per minute', () => {
  const schema = uniqueSchema('tput');
  const s = pg.escapeIdentifier(schema);
  const pool = testPool();
  let n = 0;
  const finish = (status: 'done' | 'killed', at: Date, count: number) =>
    pool.query(
      `INSERT INTO ${s}.jobs (id, queue, name, payload, status, attempts, done_at)
       SELECT '7' || lpad((${n} + g)::text, 25, '0'), 'q', 'x', '{}', $1, 1, $2 FROM generate_series(1, $3::int) g`,
      [status, at, count],
    ).then(() => void (n += count));

  beforeAll(async () => {
    await new Migrator(pool, schema).migrate();
  });
  afterAll(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('keeps finished minutes and recounts the last two on every read', async () => {
    const dbNow = (await pool.query<{ t: Date }>('SELECT now() AS t')).rows[0].t.getTime();
    const minute = Math.floor(dbNow / 60_000) * 60_000;
    await finish('done', new Date(minute - 10 * 60_000 + 5_000), 4);
    await finish('killed', new Date(minute - 10 * 60_000 + 6_000), 1);
    await finish('done', new Date(minute - 2 * 60 * 60_000), 9); // older than the hour: never counted
    const t = new ThroughputMinutes(pool, s);
    expect(await t.read(dbNow)).toEqual([{ minute: minute - 10 * 60_000, done: 4, failed: 1 }]);
    // Jobs finishing in the current minute after the first read: counted by the next (partial) read.
    await finish('done', new Date(minute + 1), 3);
    // A late row in an old minute is not read again until the next full read.
    await finish('done', new Date(minute - 10 * 60_000 + 7_000), 2);
    expect(await t.read(dbNow + 1000)).toEqual([
      { minute: minute - 10 * 60_000, done: 4, failed: 1 },
      { minute, done: 3, failed: 0 },
    ]);
    // Five minutes later the whole hour is read again.
    expect(await t.read(dbNow + 5 * 60_000)).toEqual([
      { minute: minute - 10 * 60_000, done: 6, failed: 1 },
      { minute, done: 3, failed: 0 },
    ]);
  });
});
