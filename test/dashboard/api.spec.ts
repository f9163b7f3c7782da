/**
 * The dashboard's JSON API (issue 20, server side): mounted as real controllers behind the app's
 * global prefix, its own guards and `authorize`; counts that match the database; filters that
 * reach SQL only as bound parameters; 400/404 naming the field; actions that work, are logged with
 * who did them, and are refused (403) read-only or unauthorized.
 */
import { Injectable, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueDashboardModule, type DashboardAction } from '../../src/dashboard/index.js';
import { getSinkToken, Process, Processor, QueueModule, type Job, type QueueSink } from '../../src/index.js';
import { CapturingLogger } from '../helpers/logger.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'let-me-in';
const runs: string[] = [];

@Injectable()
class TokenGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    return ctx.switchToHttp().getRequest().headers['x-dashboard-token'] === TOKEN;
  }
}

@Processor('mail')
@Injectable()
class MailProcessor {
  @Process('send', { maxAttempts: 1 })
  send(job: Job<{ to: string; fail?: boolean }>) {
    runs.push(job.id);
    if (job.data.fail) throw new Error(`bounced ${job.data.to}`);
    return 'sent';
  }
}

describe('dashboard API', () => {
  const schema = uniqueSchema('dash');
  const s = pg.escapeIdentifier(schema);
  const pool = testPool();
  const logger = new CapturingLogger();
  const denied = new Set<DashboardAction>();
  let app: INestApplication;
  let sink: QueueSink;
  let http: ReturnType<typeof request>;
  const get = (path: string) => http.get(`/admin/queues${path}`).set('x-dashboard-token', TOKEN);
  const post = (path: string, body?: object) => http.post(`/admin/queues${path}`).set('x-dashboard-token', TOKEN).send(body ?? {});

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        QueueModule.forRoot({ connection: { connectionString: databaseUrl(), max: 4 }, schema, queues: ['mail', 'reports'], pollIntervalMs: 100 }),
        QueueDashboardModule.forRoot({ path: 'queues', guards: [TokenGuard], authorize: (_req, action) => !denied.has(action), actor: (req) => `token ${req.headers?.['x-actor'] ?? '?'}` }),
      ],
      providers: [MailProcessor],
    })
      .setLogger(logger)
      .compile();
    app = moduleRef.createNestApplication({ logger });
    app.setGlobalPrefix('admin');
    await app.init();
    http = request(app.getHttpServer());
    sink = app.get(getSinkToken('mail'));
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const status = (id: string, want: string) =>
    waitFor(`job ${id} to be ${want}`, async () => (await pool.query(`SELECT status FROM ${s}.jobs WHERE id = $1`, [id])).rows[0]?.status === want);

  it('answers 403 to a request without the guard\'s credentials, on reads and actions alike', async () => {
    const id = await sink.push('send', { to: 'a@example.com' });
    for (const r of [
      http.get('/admin/queues/api/overview'),
      http.get('/admin/queues/api/jobs'),
      http.get(`/admin/queues/api/jobs/${id}`),
      http.post(`/admin/queues/api/jobs/${id}/cancel`),
      http.post('/admin/queues/api/queues/mail/pause'),
    ]) {
      await r.expect(403);
    }
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${s}.queues WHERE paused`)).rows[0].n).toBe(0);
  });

  it('the overview shows the counts the database has, the throughput and the live worker', async () => {
    const done = await sink.push('send', { to: 'b@example.com' });
    const killed = await sink.push('send', { to: 'c@example.com', fail: true });
    await status(done, 'done');
    await status(killed, 'killed');
    const { body } = await get('/api/overview').expect(200);
    const db = (await pool.query(`SELECT status, count(*)::int AS n FROM ${s}.jobs WHERE queue = 'mail' GROUP BY status`)).rows;
    for (const row of db) expect(body.queues.mail[row.status]).toBe(row.n);
    expect(body.queues.reports.pending).toBe(0);
    // All queues together: only mail has finished jobs here.
    const minutes = body.throughput as Array<{ done: number; failed: number }>;
    expect(minutes.reduce((n, m) => n + m.done, 0)).toBe(db.find((r) => r.status === 'done')?.n ?? 0);
    expect(minutes.reduce((n, m) => n + m.failed, 0)).toBe(1);
    expect(body.workers).toEqual([expect.objectContaining({ queue: 'mail', names: ['send'], heartbeatAgeMs: expect.any(Number), running: 0 })]);
  });

  it('lists jobs by filter, pages them, and refuses a malformed filter with 400 naming the field', async () => {
    const ids = await sink.pushMany([1, 2, 3].map((n) => ({ name: 'send', data: { to: `list-${n}@example.com` }, options: { idempotencyKey: `list-${n}` } })));
    for (const id of ids) await status(id, 'done');
    const first = (await get('/api/jobs?queue=mail&idempotencyKeyPrefix=list-&limit=2').expect(200)).body;
    expect(first.jobs.map((j: { id: string }) => j.id)).toEqual([ids[2], ids[1]]);
    const second = (await get(`/api/jobs?queue=mail&idempotencyKeyPrefix=list-&limit=2&after=${first.next}`).expect(200)).body;
    expect(second.jobs.map((j: { id: string }) => j.id)).toEqual([ids[0]]);
    expect(second.next).toBeNull();
    expect((await get('/api/jobs?status=killed').expect(200)).body.jobs.every((j: { status: string }) => j.status === 'killed')).toBe(true);
    for (const [query, field] of [
      ['status=exploded', 'filter.status[0]'],
      ['createdAfter=yesterday', 'query.createdAfter'],
      ['limit=-1', 'query.limit'],
      ['order=sideways', 'query.order'],
      ['where=1', 'query.where'],
    ]) {
      const { body } = await get(`/api/jobs?${query}`).expect(400);
      expect(body.field).toBe(field);
      expect(body.error).toContain(field);
    }
  });

  it('hostile filter strings are bound as parameters: they match nothing and change nothing', async () => {
    const before = (await pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs`)).rows[0].n;
    for (const hostile of [`' OR '1'='1`, `mail'; DELETE FROM ${schema}.jobs; --`, `"); DROP TABLE jobs; --`, '%', '\\']) {
      const { body } = await get(`/api/jobs?queue=${encodeURIComponent(hostile)}&name=${encodeURIComponent(hostile)}`).expect(200);
      expect(body.jobs).toEqual([]);
      await get(`/api/jobs/${encodeURIComponent(hostile)}`).expect(400);
    }
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${s}.jobs`)).rows[0].n).toBe(before);
  });

  it('a job: 404 for an unknown id, every field, a payload cut past the preview size and loadable whole', async () => {
    const unknown = (await get('/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV').expect(404)).body;
    expect(unknown.field).toBe('id');
    const big = 'x'.repeat(200_000);
    const id = await sink.push('send', { to: 'big@example.com', big } as never, { metadata: { traceparent: 't' } });
    await status(id, 'done');
    const job = (await get(`/api/jobs/${id}`).expect(200)).body;
    expect(job).toMatchObject({ id, queue: 'mail', name: 'send', status: 'done', result: 'sent', metadata: { traceparent: 't' }, dataTruncated: true, data: null });
    expect(job.dataBytes).toBeGreaterThan(200_000);
    expect(job.dataPreview.length).toBe(64 * 1024);
    expect((await get(`/api/jobs/${id}/payload`).expect(200)).body.data.big).toBe(big);
  });

  it('retry makes a killed job run again; the action is logged with who did it', async () => {
    const id = await sink.push('send', { to: 'retry@example.com', fail: true });
    await status(id, 'killed');
    const r = (await post(`/api/jobs/${id}/retry`).set('x-actor', 'alice').expect(200)).body;
    expect(r).toMatchObject({ id, outcome: 'retried' });
    await waitFor('the retried job to run again', () => runs.filter((x) => x === id).length === 2);
    expect(logger.lines.some((l) => l.includes(`token alice retry job ${id}: retried`))).toBe(true);
    await post('/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry').expect(404);
    expect((await post(`/api/jobs/${id}/explode`).expect(404)).body.field).toBe('verb');
  });

  it('pause stops claims and resume lets them go; an unknown queue is a 400 naming it', async () => {
    expect((await post('/api/queues/mail/pause', { reason: 'incident' }).expect(200)).body.outcome).toBe('paused');
    const id = await sink.push('send', { to: 'paused@example.com' });
    // The paused queue's worker holds off: the job stays pending while a fresh overview says paused.
    await waitFor('the overview to show the pause', async () => (await get('/api/overview')).body.queues.mail.paused === true);
    expect((await pool.query(`SELECT status FROM ${s}.jobs WHERE id = $1`, [id])).rows[0].status).toBe('pending');
    expect((await post('/api/queues/mail/resume').expect(200)).body.outcome).toBe('resumed');
    await status(id, 'done');
    expect((await post('/api/queues/nope/pause').expect(400)).body.field).toBe('queue');
  });

  it('authorize decides per action: a denied action is 403 and changes nothing', async () => {
    const id = await sink.push('send', { to: 'deny@example.com', fail: true });
    await status(id, 'killed');
    denied.add('retry');
    try {
      expect((await post(`/api/jobs/${id}/retry`).expect(403)).body.error).toContain('retry');
      await get(`/api/jobs/${id}`).expect(200);
      expect((await pool.query(`SELECT status FROM ${s}.jobs WHERE id = $1`, [id])).rows[0].status).toBe('killed');
    } finally {
      denied.clear();
    }
  });
});

describe('dashboard API: readOnly', () => {
  const schema = uniqueSchema('dashro');
  const pool = testPool();
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [QueueModule.forRoot({ connection: { connectionString: databaseUrl(), max: 2 }, schema, queues: ['mail'], workers: false }), QueueDashboardModule.forRoot({ readOnly: true })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('reads work and every action is 403', async () => {
    const http = request(app.getHttpServer());
    await http.get('/queues/api/overview').expect(200);
    const id = await app.get<QueueSink>(getSinkToken('mail')).push('send', {});
    expect((await http.post(`/queues/api/jobs/${id}/cancel`).expect(403)).body.error).toContain('read-only');
    await http.post('/queues/api/queues/mail/pause').expect(403);
    expect((await pool.query(`SELECT status FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = $1`, [id])).rows[0].status).toBe('pending');
  });
});
