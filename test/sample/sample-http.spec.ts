import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../sample/src/app.module.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

/** The sample's whole HTTP contract (issue 5), against a real Postgres, on schemas of its own. */
describe('sample app: HTTP contract', () => {
  const schema = uniqueSchema('sample');
  const queueSchema = `${schema}_q`;
  const pool = testPool();
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  const jobsFor = async (email: string) =>
    (await pool.query(`SELECT id, status FROM ${queueSchema}.jobs WHERE payload->>'email' = $1`, [email])).rows;
  const usersWith = async (email: string) =>
    (await pool.query(`SELECT id FROM ${schema}.users WHERE email = $1`, [email])).rowCount;
  const getJob = async (id: string) => (await http.get(`/jobs/${id}`).expect(200)).body;

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA ${schema}`);
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.register({ databaseUrl: databaseUrl(), schema, queueSchema })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: process.env.TEST_LOGS ? undefined : false });
    await app.init();
    http = request(app.getHttpServer());
  });

  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await dropSchema(pool, queueSchema);
    await pool.end();
  });

  it('POST /users writes the user and its welcome job; the handler sets welcomedAt', async () => {
    const res = await http.post('/users').send({ email: 'ada@example.com' }).expect(201);
    expect(res.body).toEqual({ user: { id: expect.any(String), email: 'ada@example.com' }, jobId: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{26}$/) });
    const { user, jobId } = res.body;

    const shown = await waitFor('welcomedAt to be set', async () => {
      const r = await http.get(`/users/${user.id}`).expect(200);
      return r.body.welcomedAt ? r.body : null;
    });
    expect(shown).toMatchObject({ id: user.id, email: 'ada@example.com' });
    expect(new Date(shown.welcomedAt).getTime()).not.toBeNaN();

    const job = await waitFor('the welcome job to be done', async () => {
      const j = await getJob(jobId);
      return j.status === 'done' ? j : null;
    });
    expect(job).toMatchObject({
      id: jobId,
      queue: 'emails',
      name: 'welcome',
      status: 'done',
      attempts: 1,
      lastError: null,
      result: { sentTo: 'ada@example.com' },
      data: { userId: user.id, email: 'ada@example.com' },
    });
  });

  it.each([
    ['a malformed email', { email: 'not-an-email' }],
    ['a missing email', {}],
    ['an email that is not a string', { email: 42 }],
  ])('POST /users with %s -> 400, and neither a user nor a job is written', async (_what, body) => {
    const before = (await pool.query(`SELECT count(*)::int AS n FROM ${queueSchema}.jobs`)).rows[0].n;
    const res = await http.post('/users').send(body).expect(400);
    expect(res.body.message).toMatch(/email/);
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${queueSchema}.jobs`)).rows[0].n).toBe(before);
    if (typeof (body as { email?: unknown }).email === 'string') {
      expect(await usersWith((body as { email: string }).email)).toBe(0);
    }
  });

  it('POST /users with a duplicate email -> 409, and the rolled-back transaction leaves no job', async () => {
    const email = 'grace@example.com';
    const first = await http.post('/users').send({ email }).expect(201);
    // Same address in another case: normalised, so it is the same user.
    const res = await http.post('/users').send({ email: 'Grace@Example.com' }).expect(409);
    expect(res.body.message).toMatch(/already exists/);
    // The sample pushes the job before inserting the user, so this proves the rollback removed it.
    const jobs = await jobsFor(email);
    expect(jobs.map((j) => j.id)).toEqual([first.body.jobId]);
    expect(await usersWith(email)).toBe(1);
  });

  it('POST /signups (@Transactional(), no QueryRunner): the user and the typed welcome job commit together; a duplicate -> 409 and no job', async () => {
    const email = 'signup-ambient@example.com';
    const first = await http.post('/signups').send({ email }).expect(201);
    await waitFor('the welcome email', async () => (await getJob(first.body.jobId)).status === 'done');
    expect((await getJob(first.body.jobId)).result).toEqual({ sentTo: email });
    const res = await http.post('/signups').send({ email }).expect(409);
    expect(res.body.message).toMatch(/already exists/);
    // The push came before the failed insert: only the ambient transaction's rollback removes it.
    expect((await jobsFor(email)).map((j) => j.id)).toEqual([first.body.jobId]);
    expect(await usersWith(email)).toBe(1);
  });

  it('a failed transaction leaves no job even under a burst of duplicates', async () => {
    const email = 'burst@example.com';
    const results = await Promise.all(Array.from({ length: 8 }, () => http.post('/users').send({ email })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409, 409, 409]);
    const created = results.find((r) => r.status === 201)!.body;
    expect((await jobsFor(email)).map((j) => j.id)).toEqual([created.jobId]);
  });

  it('GET /users/:id -> 404 for an unknown id, 400 for a malformed one', async () => {
    await http.get('/users/8a6e0804-2bd0-4672-b79d-d97027f9071a').expect(404);
    await http.get('/users/not-a-uuid').expect(400);
  });

  it('GET /jobs/:id -> 404 for an unknown id', async () => {
    await http.get('/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV').expect(404);
    await http.get('/jobs/whatever').expect(404);
  });

  it('POST /reports enqueues a report that fails its first attempt and succeeds on the retry', async () => {
    const res = await http.post('/reports').send({ title: 'Q3' }).expect(201);
    expect(res.body).toEqual({ jobId: expect.any(String) });
    const job = await waitFor('the report job to be done', async () => {
      const j = await getJob(res.body.jobId);
      return j.status === 'done' ? j : null;
    });
    expect(job).toMatchObject({ queue: 'reports', name: 'generate', status: 'done', attempts: 2, result: { title: 'Q3', rows: 42, attempt: 2 } });
    // The handler's maxAttempts, as the worker resolved it (the push gave none); the latest
    // attempt succeeded, so lastError is clear and the first attempt's error is in the history.
    expect(job.maxAttempts).toBe(3);
    expect(job.lastError).toBeNull();
    expect(job.errors).toHaveLength(1);
    expect(job.errors[0]).toMatchObject({ attempt: 1, error: expect.stringMatching(/^Error: report backend unavailable \(the first attempt fails on purpose\)\n\s+at /) });
    expect(Number.isNaN(Date.parse(job.errors[0].at))).toBe(false);
  });

  it('POST /reports with a bad title -> 400', async () => {
    await http.post('/reports').send({ title: '' }).expect(400);
  });

  it('GET /health -> 200 with the queue up (Terminus, nestjs-pg-queue/terminus)', async () => {
    const res = await http.get('/health').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { queue: { status: 'up' } } });
    expect(['connected', 'connecting']).toContain(res.body.info.queue.listen);
  });

  it('GET /queues/stats -> counts by queue and status', async () => {
    const ids = await Promise.all([1, 2, 3].map(async (i) => (await http.post('/reports').send({ title: `r${i}` }).expect(201)).body.jobId));
    await waitFor('every job to be done', async () => {
      const jobs = await Promise.all(ids.map(getJob));
      return jobs.every((j) => j.status === 'done');
    });
    // Earlier tests' welcome jobs were not all awaited: every job of both queues must have
    // finished, or the two reads below could straddle an ack.
    await waitFor('no job left unfinished', async () => (await pool.query(`SELECT count(*)::int AS n FROM ${queueSchema}.jobs WHERE status NOT IN ('done', 'killed')`)).rows[0].n === 0);
    const stats = (await http.get('/queues/stats').expect(200)).body;
    const { rows } = await pool.query(`SELECT queue, count(*)::int AS n FROM ${queueSchema}.jobs WHERE status = 'done' GROUP BY queue`);
    const done = Object.fromEntries(rows.map((r) => [r.queue, r.n]));
    expect(Object.keys(stats).sort()).toEqual(['emails', 'reports']);
    for (const q of ['emails', 'reports']) {
      expect(Object.keys(stats[q]).sort()).toEqual(['cancelled', 'done', 'estimated', 'killed', 'lagMs', 'paused', 'pending', 'retrying', 'running', 'staleRunning', 'unhandled']);
      expect(stats[q].done).toBe(done[q] ?? 0);
    }
    expect(stats.reports.done).toBeGreaterThanOrEqual(4);
  });
});
