/**
 * The dashboard's schedules (list, pause, resume, trigger: each behind `authorize`) and the jobs
 * list's payload filter (a SQL/JSON path predicate, bound as a parameter; a malformed one is a 400).
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueDashboardModule, type DashboardAction } from '../../src/dashboard/index.js';
import { getSinkToken, QueueModule, type QueueSink } from '../../src/index.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';

describe('dashboard: schedules and the payload filter', () => {
  const schema = uniqueSchema('dashs');
  const s = pg.escapeIdentifier(schema);
  const pool = testPool();
  const denied = new Set<DashboardAction>();
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        QueueModule.forRoot({
          connection: { connectionString: databaseUrl(), max: 3 },
          schema,
          queues: ['reports'],
          workers: false,
          schedules: [{ key: 'nightly report', cron: '0 3 * * *', queue: 'reports', name: 'nightly', data: { kind: 'nightly' } }],
        }),
        QueueDashboardModule.forRoot({ authorize: (_req, action) => !denied.has(action) }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    http = request(app.getHttpServer());
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('lists the schedules with their next slot; pause, resume and trigger work and are refused when not authorized', async () => {
    const { schedules } = (await http.get('/queues/api/schedules').expect(200)).body;
    expect(schedules).toEqual([expect.objectContaining({ key: 'nightly report', queue: 'reports', name: 'nightly', cron: '0 3 * * *', paused: false, nextSlot: expect.any(String) })]);
    const key = encodeURIComponent('nightly report');
    expect((await http.post(`/queues/api/schedules/${key}/pause`).expect(200)).body.schedule.paused).toBe(true);
    expect((await http.post(`/queues/api/schedules/${key}/resume`).expect(200)).body.schedule.paused).toBe(false);
    const { jobId } = (await http.post(`/queues/api/schedules/${key}/trigger`).expect(200)).body;
    expect((await pool.query(`SELECT name, payload FROM ${s}.jobs WHERE id = $1`, [jobId])).rows[0]).toEqual({ name: 'nightly', payload: { kind: 'nightly' } });
    expect((await http.post('/queues/api/schedules/nobody/pause').expect(404)).body.field).toBe('key');
    expect((await http.post(`/queues/api/schedules/${key}/explode`).expect(404)).body.field).toBe('verb');
    denied.add('trigger');
    try {
      const before = (await pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs`)).rows[0].n;
      await http.post(`/queues/api/schedules/${key}/trigger`).expect(403);
      expect((await pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs`)).rows[0].n).toBe(before);
    } finally {
      denied.clear();
    }
  });

  it('a payload predicate finds the one job; a malformed or hostile one is a 400 or matches nothing', async () => {
    const sink = app.get<QueueSink>(getSinkToken('reports'));
    const ids = await sink.pushMany(['ada', 'grace', 'edsger'].map((who) => ({ name: 'mail', data: { to: `${who}@example.com`, n: who.length } })));
    const find = async (predicate: string) => (await http.get('/queues/api/jobs').query({ payloadMatches: predicate }).expect(200)).body.jobs.map((j: { id: string }) => j.id);
    expect(await find('$.to == "grace@example.com"')).toEqual([ids[1]]);
    expect((await find('$.n > 4')).sort()).toEqual([ids[1], ids[2]].sort());
    expect(await find(`$.to == "x' OR '1'='1"`)).toEqual([]);
    for (const bad of ['$.to ==', 'not a path', `'); DROP TABLE ${schema}.jobs; --`]) {
      const { body } = await http.get('/queues/api/jobs').query({ payloadMatches: bad }).expect(400);
      expect(body.field).toBe('filter.payloadMatches');
    }
    // The same filter in a bulk preview.
    const preview = (await http.post('/queues/api/bulk/cancel').send({ filter: { queue: 'reports', payloadMatches: '$.to like_regex "^ada@"' }, preview: true }).expect(200)).body;
    expect(preview.count).toBe(1);
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE id = ANY($1)`, [ids])).rows[0].n).toBe(3);
  });
});
