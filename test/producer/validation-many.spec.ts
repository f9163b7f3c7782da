import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { countJobs, expectInvalidJob, sinkOf } from './support.js';

const good = (i: number) => ({ name: `ok${i}`, data: { i }, options: { priority: i } });

/** Five jobs, all valid except the one at `at`, which is replaced by `bad`. */
const withBad = (at: number, bad: unknown): unknown[] => Array.from({ length: 5 }, (_, i) => (i === at ? bad : good(i)));

/** [what, field, jobs, tx] */
const cases: Array<[string, string, unknown, unknown]> = [
  ['jobs not an array', 'jobs', { name: 'x', data: 1 }, undefined],
  ['jobs null', 'jobs', null, undefined],
  ['an element that is not an object', 'jobs[1]', withBad(1, 'job'), undefined],
  ['an element with an unknown field', 'jobs[1].opts', withBad(1, { name: 'x', data: 1, opts: {} }), undefined],
  ['an empty name at index 0', 'jobs[0].name', withBad(0, { name: '', data: 1 }), undefined],
  ['a bad priority at index 2', 'jobs[2].options.priority', withBad(2, { name: 'x', data: 1, options: { priority: 0.5 } }), undefined],
  ['a BigInt payload at index 3', 'jobs[3].data', withBad(3, { name: 'x', data: { n: 10n } }), undefined],
  ['a circular payload at index 4', 'jobs[4].data', withBad(4, (() => { const o: any = {}; o.o = o; return { name: 'x', data: o }; })()), undefined],
  ['runAt and delayMs at index 1', 'jobs[1].options.delayMs', withBad(1, { name: 'x', data: 1, options: { runAt: new Date(), delayMs: 1 } }), undefined],
  ['a bad id at index 2', 'jobs[2].options.id', withBad(2, { name: 'x', data: 1, options: { id: 'abc' } }), undefined],
  ['bad metadata at index 0', 'jobs[0].options.metadata', withBad(0, { name: 'x', data: 1, options: { metadata: [] } }), undefined],
  ['maxAttempts 0 at index 4', 'jobs[4].options.maxAttempts', withBad(4, { name: 'x', data: 1, options: { maxAttempts: 0 } }), undefined],
  ['an unknown option at index 1', 'jobs[1].options.foo', withBad(1, { name: 'x', data: 1, options: { foo: 1 } }), undefined],
  ["a transaction in an element's options", 'jobs[0].options.client', withBad(0, { name: 'x', data: 1, options: { client: {} } }), undefined],
  ['tx not an object', 'tx', [good(0)], 'tx'],
  ['tx null', 'tx', [good(0)], null],
  ['tx with an unknown key', 'tx.foo', [good(0)], { foo: 1 }],
  ['tx.client that is not a pg client', 'tx.client', [good(0)], { client: 42 }],
];

describe('pushMany: one bad element means nothing is written, and the error names its index', () => {
  const schema = uniqueSchema('valm');
  const s = pg.escapeIdentifier(schema);
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;

  beforeAll(async () => {
    app = await createQueueApp({ schema });
    sink = sinkOf(app);
    await pool.query(`CREATE TABLE ${s}.audit (what text NOT NULL)`);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it.each(cases)('%s → %s, nothing written', async (_what, field, jobs, tx) => {
    await expectInvalidJob(() => sink.pushMany(jobs as never, tx as never), field);
    expect(await countJobs(pool, schema)).toBe(0);
  });

  it.each(cases.filter(([, , , tx]) => tx === undefined))(
    "%s inside the caller's transaction → %s; the transaction stays usable",
    async (what, field, jobs) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${s}.audit VALUES ($1)`, [what]);
        await expectInvalidJob(() => sink.pushMany(jobs as never, { client }), field);
        const ids = await sink.pushMany([good(0), good(1)], { client });
        await client.query('COMMIT');
        expect(await countJobs(pool, schema)).toBe(2);
        const r = await pool.query(`SELECT id FROM ${s}.jobs ORDER BY id`);
        expect(r.rows.map((row) => row.id)).toEqual([...ids].sort());
        expect((await pool.query(`SELECT 1 FROM ${s}.audit WHERE what = $1`, [what])).rowCount).toBe(1);
        await pool.query(`DELETE FROM ${s}.jobs`);
      } finally {
        client.release();
      }
    },
  );
});
