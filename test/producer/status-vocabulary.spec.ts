import { Injectable } from '@nestjs/common';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, Migrator, Process, Processor, QueueAdmin, type Job } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const ran: string[] = [];

@Processor('vocab')
@Injectable()
class VocabProcessor {
  @Process('job')
  job(job: Job) {
    ran.push(job.id);
    return { ok: true };
  }
}

/**
 * Version 0.2 renames the status of a job waiting for its next attempt from `failed` to
 * `retrying`. These tests start from a schema at version 2 (what 0.1 installed), holding rows a
 * 0.1 process wrote, and check what the upgrade does with them and with what a 0.1 process still
 * writes during a rolling deploy.
 */
describe("status vocabulary: 'failed' became 'retrying' (migration 0003)", () => {
  const scope = schemaScope('voc');
  afterAll(() => scope.dispose());

  const at = (schema: string) => pg.escapeIdentifier(schema);
  const insertAs01 = async (schema: string, id: string, status: string, extra = '') =>
    scope.pool.query(
      `INSERT INTO ${at(schema)}.jobs (id, queue, name, payload, status, attempts, last_error, run_at${extra ? ', done_at' : ''})
       VALUES ($1, 'vocab', 'job', '{}', $2, 1, 'Error: boom', now() - interval '1 second'${extra ? `, ${extra}` : ''})`,
      [id, status],
    );

  it('renames 0.1 rows, keeps their error as history, clears it on done rows, and runs them', async () => {
    const schema = scope.fresh();
    await new Migrator(scope.pool, schema, loadMigrations().slice(0, 2)).migrate();
    await insertAs01(schema, '01JA0000000000000000000001', 'failed');
    await insertAs01(schema, '01JA0000000000000000000002', 'done', 'now()');
    await insertAs01(schema, '01JA0000000000000000000003', 'killed', 'now()');

    const app = await createQueueApp({ schema, queues: ['vocab'] }, [VocabProcessor]);
    try {
      const admin = app.get(QueueAdmin);
      const done = await admin.getJob('01JA0000000000000000000002');
      expect(done).toMatchObject({ status: 'done', lastError: null, errors: [{ attempt: 1, error: 'Error: boom' }] });
      const killed = await admin.getJob('01JA0000000000000000000003');
      expect(killed).toMatchObject({ status: 'killed', lastError: 'Error: boom', errors: [{ attempt: 1, error: 'Error: boom' }] });
      // The renamed row is claimed and run.
      await waitFor('the renamed job done', async () => (await admin.getJob('01JA0000000000000000000001'))?.status === 'done');
      expect(ran).toContain('01JA0000000000000000000001');
      const raw = await scope.pool.query(`SELECT DISTINCT status FROM ${at(schema)}.jobs`);
      expect(raw.rows.map((r) => r.status).sort()).toEqual(['done', 'killed']);
    } finally {
      await app.close();
    }
  });

  it("a 'failed' row a 0.1 process writes after the upgrade is read as retrying and still claimed", async () => {
    const schema = scope.fresh();
    const app = await createQueueApp({ schema, queues: ['vocab'], workers: false });
    const id = '01JA0000000000000000000004';
    try {
      await insertAs01(schema, id, 'failed');
      const admin = app.get(QueueAdmin);
      expect((await admin.getJob(id))!.status).toBe('retrying');
      const stats = await admin.stats();
      expect(stats.vocab.retrying).toBe(1);
      // The 0.1 name stays readable for one minor version, but is not enumerated (JSON, keys).
      expect(stats.vocab.failed).toBe(1);
      expect(Object.keys(stats.vocab)).not.toContain('failed');
      expect(JSON.parse(JSON.stringify(stats)).vocab).not.toHaveProperty('failed');
    } finally {
      await app.close();
    }
    const worker = await createQueueApp({ schema, queues: ['vocab'] }, [VocabProcessor]);
    try {
      await waitFor('the legacy row done', async () => (await worker.get(QueueAdmin).getJob(id))?.status === 'done');
    } finally {
      await worker.close();
    }
  });

  it('the check constraint refuses a status outside the vocabulary', async () => {
    const schema = scope.fresh();
    await new Migrator(scope.pool, schema).migrate();
    const err = await insertAs01(schema, '01JA0000000000000000000005', 'finished').catch((e) => e);
    expect(err).toMatchObject({ code: '23514', constraint: 'jobs_status_check' });
  });
});
