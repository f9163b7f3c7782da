import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueAdmin, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { countJobs, expectInvalidJob, sinkOf } from './support.js';

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;
class Point {
  constructor(readonly x = 1) {}
}
const VALID_ULID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

/** [what, field, name, data, options] */
const cases: Array<[string, string, unknown, unknown, unknown]> = [
  ['empty name', 'name', '', {}, undefined],
  ['name over 255 characters', 'name', 'n'.repeat(256), {}, undefined],
  ['name not a string', 'name', 42, {}, undefined],
  ['name with a NUL byte', 'name', 'a\0b', {}, undefined],
  ['BigInt payload', 'data', 'j', 1n, undefined],
  ['BigInt inside the payload', 'data', 'j', { n: 1n }, undefined],
  ['circular payload', 'data', 'j', circular, undefined],
  ['function payload', 'data', 'j', () => 1, undefined],
  ['symbol payload', 'data', 'j', Symbol('s'), undefined],
  ['undefined payload at top level', 'data', 'j', undefined, undefined],
  ['payload with a NUL character', 'data', 'j', { s: 'a\u0000b' }, undefined],
  ['payload with a lone surrogate', 'data', 'j', { s: '\ud800' }, undefined],
  ['payload over the default 1 MiB cap', 'data', 'j', { s: 'x'.repeat(1024 * 1024) }, undefined],
  ['maxAttempts 0', 'options.maxAttempts', 'j', {}, { maxAttempts: 0 }],
  ['maxAttempts negative', 'options.maxAttempts', 'j', {}, { maxAttempts: -3 }],
  ['maxAttempts 1.5', 'options.maxAttempts', 'j', {}, { maxAttempts: 1.5 }],
  ['maxAttempts NaN', 'options.maxAttempts', 'j', {}, { maxAttempts: Number.NaN }],
  ['maxAttempts as a string', 'options.maxAttempts', 'j', {}, { maxAttempts: '3' }],
  ['priority 1.5', 'options.priority', 'j', {}, { priority: 1.5 }],
  ['priority above int4', 'options.priority', 'j', {}, { priority: 2 ** 31 }],
  ['priority below int4', 'options.priority', 'j', {}, { priority: -(2 ** 31) - 1 }],
  ['priority Infinity', 'options.priority', 'j', {}, { priority: Number.POSITIVE_INFINITY }],
  ['priority as a string', 'options.priority', 'j', {}, { priority: '1' }],
  ['runAt an invalid Date', 'options.runAt', 'j', {}, { runAt: new Date('nope') }],
  ['runAt a string', 'options.runAt', 'j', {}, { runAt: '2030-01-01T00:00:00Z' }],
  ['runAt a number', 'options.runAt', 'j', {}, { runAt: Date.now() }],
  ['delayMs negative', 'options.delayMs', 'j', {}, { delayMs: -1 }],
  ['delayMs NaN', 'options.delayMs', 'j', {}, { delayMs: Number.NaN }],
  ['delayMs Infinity', 'options.delayMs', 'j', {}, { delayMs: Number.POSITIVE_INFINITY }],
  ['delayMs as a string', 'options.delayMs', 'j', {}, { delayMs: '100' }],
  ['both runAt and delayMs', 'options.delayMs', 'j', {}, { runAt: new Date(), delayMs: 10 }],
  ['id not a ULID', 'options.id', 'j', {}, { id: 'not-a-ulid' }],
  ['id in lower case', 'options.id', 'j', {}, { id: VALID_ULID.toLowerCase() }],
  ['id with a letter outside Crockford base32', 'options.id', 'j', {}, { id: `${VALID_ULID.slice(0, 25)}U` }],
  ['id with a time overflow', 'options.id', 'j', {}, { id: `8${VALID_ULID.slice(1)}` }],
  ['id a number', 'options.id', 'j', {}, { id: 12345 }],
  ['metadata an array', 'options.metadata', 'j', {}, { metadata: [1, 2] }],
  ['metadata a string', 'options.metadata', 'j', {}, { metadata: 'm' }],
  ['metadata null', 'options.metadata', 'j', {}, { metadata: null }],
  ['metadata a Date', 'options.metadata', 'j', {}, { metadata: new Date() }],
  ['metadata a class instance', 'options.metadata', 'j', {}, { metadata: new Point() }],
  ['metadata with a BigInt inside', 'options.metadata', 'j', {}, { metadata: { n: 1n } }],
  ['idempotencyKey empty', 'options.idempotencyKey', 'j', {}, { idempotencyKey: '' }],
  ['idempotencyKey a number', 'options.idempotencyKey', 'j', {}, { idempotencyKey: 7 }],
  ['idempotencyKey over 512 characters', 'options.idempotencyKey', 'j', {}, { idempotencyKey: 'k'.repeat(513) }],
  ['unknown option key', 'options.prio', 'j', {}, { prio: 1 }],
  ['options not an object', 'options', 'j', {}, 'fast'],
  ['client that is not a pg client', 'options.client', 'j', {}, { client: { notQuery: true } }],
];

describe('push refuses every bad input with InvalidJobError before writing anything', () => {
  const schema = uniqueSchema('valp');
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

  it.each(cases)('%s → %s, nothing written', async (_what, field, name, data, options) => {
    await expectInvalidJob(() => sink.push(name as string, data, options as never), field);
    expect(await countJobs(pool, schema)).toBe(0);
  });

  it.each(cases)("%s inside the caller's transaction → %s; the transaction stays usable", async (what, field, name, data, options) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`INSERT INTO ${s}.audit VALUES ($1)`, [what]);
      const opts = options !== null && typeof options === 'object' ? { client, ...options } : options; // a case's own client wins
      await expectInvalidJob(() => sink.push(name as string, data, opts as never), field);
      await client.query(`INSERT INTO ${s}.audit VALUES ($1)`, [`${what} (after)`]);
      const id = await sink.push('good', { what }, { client });
      await client.query('COMMIT');
      const r = await pool.query(`SELECT count(*)::int AS n FROM ${s}.audit WHERE what IN ($1, $2)`, [what, `${what} (after)`]);
      expect(r.rows[0].n).toBe(2);
      expect((await app.get(QueueAdmin).getJob(id))?.data).toEqual({ what });
      await pool.query(`DELETE FROM ${s}.jobs`);
    } finally {
      client.release();
    }
  });

  it('a misspelt push option gets "did you mean", and nothing is written', async () => {
    const err = await expectInvalidJob(() => sink.push('j', {}, { priorty: 1 } as never), 'options.priorty');
    expect(err.message).toBe('Invalid job: options.priorty is not a known push option; did you mean "priority"?');
    const tx = await expectInvalidJob(() => sink.push('j', {}, { queryRuner: {} } as never), 'options.queryRuner');
    expect(tx.message).toBe('Invalid job: options.queryRuner is not a known push option; did you mean "queryRunner"?');
    expect(await countJobs(pool, schema)).toBe(0);
  });

  it.each([
    ['a nested function', { items: [{}, {}, { when: () => 1 }] }, 'data.items[2].when', 'a function'],
    ['a Symbol', { tag: Symbol('t') }, 'data.tag', 'a Symbol'],
    ['a Map', { byId: new Map([[1, 'a']]) }, 'data.byId', 'a Map'],
    ['a Set', { ids: new Set([1, 2]) }, 'data.ids', 'a Set'],
    ['NaN', { ratio: Number.NaN }, 'data.ratio', 'NaN'],
    ['Infinity in an array', { xs: [1, Number.POSITIVE_INFINITY] }, 'data.xs[1]', 'Infinity'],
    ['a function at the top', () => 1, 'data', 'a function'],
  ])('refuses %s in the payload (JSON would lose it), naming its path, and writes nothing', async (_what, data, field, what) => {
    const err = await expectInvalidJob(() => sink.push('lossy', data), field);
    expect(err.message).toBe(`Invalid job: ${field} is ${what}, which JSON would drop or change: convert it first (e.g. [...set], Object.fromEntries(map), null)`);
    expect(await countJobs(pool, schema)).toBe(0);
  });

  it('the same in metadata and in pushMany, where the path names the job', async () => {
    await expectInvalidJob(() => sink.push('lossy', {}, { metadata: { at: Number.NEGATIVE_INFINITY } }), 'options.metadata.at');
    await expectInvalidJob(() => sink.pushMany([{ name: 'ok', data: {} }, { name: 'lossy', data: { s: new Set() } }]), 'jobs[1].data.s');
    expect(await countJobs(pool, schema)).toBe(0);
  });

  it('a Date is stored as its ISO string and an undefined property is left out, as JSON does', async () => {
    const when = new Date('2026-01-02T03:04:05.678Z');
    const id = await sink.push('lenient', { keep: 1, when, u: undefined });
    expect((await app.get(QueueAdmin).getJob(id))?.data).toEqual({ keep: 1, when: '2026-01-02T03:04:05.678Z' });
    await pool.query(`DELETE FROM ${s}.jobs`);
  });
});
