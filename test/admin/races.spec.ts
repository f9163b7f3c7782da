import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QueueAdmin } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';
import { OpsProcessor, resetRecords, SideProcessor, starts } from './support.js';

describe('operator verbs racing the workers', () => {
  const scope = schemaScope('rac');
  let app: INestApplication;
  let admin: QueueAdmin;
  let schema: string;
  beforeAll(async () => {
    schema = scope.fresh();
    // The rescuer runs every poll (50 ms) and takes a running job whose worker is 200 ms silent.
    app = await createQueueApp({ schema, queues: [{ name: 'ops', concurrency: 8 }, 'side'], pollIntervalMs: 50, heartbeatIntervalMs: 100, orphanTimeoutMs: 200 }, [
      OpsProcessor,
      SideProcessor,
    ]);
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app.close();
    await scope.dispose();
  });
  beforeEach(resetRecords);

  it('retry racing the rescuer: each orphan ends in one legal state, matching what retry said, and runs at most once more', async () => {
    // 100 orphans on their last attempt: running under a worker that is gone, so the rescuer kills them.
    const { rows } = await scope.pool.query(
      `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, max_attempts, locked_at, locked_by)
       SELECT '01JC' || lpad(g::text, 22, '0'), 'ops', 'work', '{}', 'running', 1, 1, now() - interval '1 second', 'dead-worker'
       FROM generate_series(1, 100) AS g RETURNING id`,
    );
    const ids = rows.map((r) => r.id as string).sort();
    const results = await Promise.all(ids.map((id) => admin.retry(id)));
    await waitFor('every orphan settled', async () => {
      const r = await scope.pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE id = ANY($1) AND status NOT IN ('killed', 'done')`, [ids]);
      return r.rows[0].n === 0;
    });
    const final = new Map((await scope.pool.query(`SELECT id, status FROM ${schema}.jobs WHERE id = ANY($1)`, [ids])).rows.map((r) => [r.id, r.status]));
    for (const r of results) {
      // Retried before the rescue: not possible (it was running); after it: it ran again and is done.
      expect(['retried', 'not_retryable']).toContain(r.outcome);
      expect(final.get(r.id), r.id).toBe(r.outcome === 'retried' ? 'done' : 'killed');
      expect(starts.filter((s) => s.id === r.id).length).toBe(r.outcome === 'retried' ? 1 : 0);
    }
  });

  it('cancel, retry and cancel of each job at once: each ends done or cancelled, every claim counted, nothing claimed after the last cancel', async () => {
    const pushed = await sinkOf(app, 'ops').pushMany(Array.from({ length: 100 }, () => ({ name: 'work', data: { ms: 1 } })));
    await Promise.all(pushed.flatMap((id) => [admin.cancel(id), admin.retry(id), admin.cancel(id)]));
    await waitFor('nothing left to run', async () => {
      const r = await scope.pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE id = ANY($1) AND status IN ('pending', 'running')`, [pushed]);
      return r.rows[0].n === 0;
    });
    const witness = await sinkOf(app, 'ops').push('work', {});
    await waitFor('the witness done', async () => (await admin.getJob(witness))?.status === 'done');
    const { rows } = await scope.pool.query(`SELECT id, status, attempts FROM ${schema}.jobs WHERE id = ANY($1)`, [pushed]);
    for (const r of rows) {
      expect(['done', 'cancelled']).toContain(r.status);
      // Every start was a claim (attempts counts them); a cancelled row is never claimed again.
      expect(starts.filter((s) => s.id === r.id).length, r.id).toBe(r.attempts);
    }
    // The job stays as the last verb left it: asking again changes nothing.
    for (const r of rows.filter((x) => x.status === 'cancelled').slice(0, 5)) {
      expect((await admin.cancel(r.id)).outcome).toBe('already_finished');
    }
  });
});
