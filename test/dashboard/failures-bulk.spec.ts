/**
 * The dashboard's failures (killed and retrying jobs grouped by error fingerprint, "retry this
 * group") and bulk actions on a selection or a whole filter result, with a preview count first.
 */
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueDashboardModule } from '../../src/dashboard/index.js';
import { getSinkToken, Process, Processor, QueueModule, type Job, type QueueSink } from '../../src/index.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

let failOrders = true;

@Processor('billing')
@Injectable()
class BillingProcessor {
  @Process('charge', { maxAttempts: 1 })
  charge(job: Job<{ order: number; kind: 'order' | 'bank' }>) {
    if (job.data.kind === 'order' && failOrders) throw new Error(`order ${job.data.order} not found (job ${job.id})`);
    if (job.data.kind === 'bank') throw new Error('timeout talking to the bank');
    return 'charged';
  }
}

describe('dashboard: failures and bulk actions', () => {
  const schema = uniqueSchema('dashf');
  const s = pg.escapeIdentifier(schema);
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;
  let http: ReturnType<typeof request>;
  const count = async (where: string, params: unknown[] = []) => (await pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE ${where}`, params)).rows[0].n;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [QueueModule.forRoot({ connection: { connectionString: databaseUrl(), max: 4 }, schema, queues: ['billing', 'later'], pollIntervalMs: 100 }), QueueDashboardModule.forRoot()],
      providers: [BillingProcessor],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    http = request(app.getHttpServer());
    sink = app.get(getSinkToken('billing'));
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('groups killed jobs by message shape and top frame; "retry this group" runs that group again', async () => {
    const orders = await sink.pushMany(Array.from({ length: 6 }, (_, i) => ({ name: 'charge', data: { order: 1000 + i * 7, kind: 'order' } })));
    const bank = await sink.pushMany(Array.from({ length: 3 }, (_, i) => ({ name: 'charge', data: { order: i, kind: 'bank' } })));
    await waitFor('all 9 to be killed', async () => (await count(`status = 'killed'`)) === 9);
    const { groups } = (await http.get('/queues/api/failures').expect(200)).body;
    expect(groups.map((g: { count: number; shape: string }) => [g.count, g.shape])).toEqual([
      [6, 'Error: order # not found (job <id>)'],
      [3, 'Error: timeout talking to the bank'],
    ]);
    expect(groups[0].frame).toMatch(/^BillingProcessor\.\S+ .*failures-bulk\.spec\.ts:#:#\)$/);
    expect(groups[0].latestError).toContain('not found');
    failOrders = false;
    expect((await http.post(`/queues/api/failures/${groups[0].fingerprint}/retry`).expect(200)).body.count).toBe(6);
    await waitFor('the order group to be done', async () => (await count(`id = ANY($1) AND status = 'done'`, [orders])) === 6);
    expect(await count(`id = ANY($1) AND status = 'killed'`, [bank])).toBe(3);
    expect((await http.get('/queues/api/failures').expect(200)).body.groups).toHaveLength(1);
    await http.post(`/queues/api/failures/${'0'.repeat(32)}/retry`).expect(404);
    expect((await http.post('/queues/api/failures/nope/retry').expect(400)).body.field).toBe('fingerprint');
  });

  it('a bulk action previews its count without changing anything, then acts on the whole filter result', async () => {
    const later = app.get<QueueSink>(getSinkToken('later'));
    await later.pushMany(Array.from({ length: 25 }, (_, i) => ({ name: 'report', data: { i }, options: { delayMs: 3_600_000 } })));
    const filter = { queue: 'later', status: ['pending'] };
    const preview = (await http.post('/queues/api/bulk/cancel').send({ filter, preview: true }).expect(200)).body;
    expect(preview).toEqual({ count: 25, capped: false });
    expect(await count(`queue = 'later' AND status = 'pending'`)).toBe(25);
    expect((await http.post('/queues/api/bulk/cancel').send({ filter }).expect(200)).body.count).toBe(25);
    expect(await count(`queue = 'later' AND status = 'cancelled'`)).toBe(25);
  });

  it('acts on a selection of ids', async () => {
    const ids = await sink.pushMany(Array.from({ length: 3 }, (_, i) => ({ name: 'charge', data: { order: i, kind: 'bank' } })));
    await waitFor('the 3 to be killed', async () => (await count(`id = ANY($1) AND status = 'killed'`, [ids])) === 3);
    expect((await http.post('/queues/api/bulk/delete').send({ filter: { ids: ids.slice(0, 2) } }).expect(200)).body.count).toBe(2);
    expect(await count(`id = ANY($1)`, [ids])).toBe(1);
  });

  it('refuses malformed and hostile bulk filters with 400 naming the field, and binds strings as parameters', async () => {
    for (const [body, field] of [
      [{ filter: {} }, 'filter'],
      [{ filter: 'everything' }, 'filter'],
      [{ filter: { ids: ['not-an-id'] } }, 'filter.ids[0]'],
      [{ filter: { queue: 'later', createdAfter: 'soon' } }, 'filter.createdAfter'],
      [{ filter: { status: ['exploded'] } }, 'filter.status[0]'],
      [{ filter: { queue: 'later', sql: '1=1' } }, 'filter.sql'],
    ] as const) {
      const { body: err } = await http.post('/queues/api/bulk/retry').send(body).expect(400);
      expect(err.field).toBe(field);
    }
    const before = await count('true');
    const hostile = { filter: { queue: `later' OR '1'='1`, name: `x"; DROP TABLE ${schema}.jobs; --` }, preview: true };
    expect((await http.post('/queues/api/bulk/delete').send(hostile).expect(200)).body.count).toBe(0);
    expect((await http.post('/queues/api/bulk/delete').send({ filter: hostile.filter }).expect(200)).body.count).toBe(0);
    expect(await count('true')).toBe(before);
    await http.post('/queues/api/bulk/explode').send({ filter: { queue: 'later' } }).expect(404);
  });
});
