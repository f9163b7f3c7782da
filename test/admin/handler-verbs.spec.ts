import { Injectable, type INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidJobError, Process, Processor, QueueAdmin, UnrecoverableError, type Job } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';

const attempts: Array<{ id: string; attempt: number; at: number }> = [];
const progressGate = deferred<void>();
const progressErrors: unknown[] = [];

@Processor('verbs')
@Injectable()
class VerbsProcessor {
  @Process('snoozy')
  snoozy(job: Job<{ times: number }>) {
    attempts.push({ id: job.id, attempt: job.attempt, at: Date.now() });
    if (attempts.filter((a) => a.id === job.id).length <= job.data.times) return job.snooze(50);
    return 'woke up';
  }

  @Process('throws-snooze')
  throwsSnooze(job: Job) {
    attempts.push({ id: job.id, attempt: job.attempt, at: Date.now() });
    if (attempts.filter((a) => a.id === job.id).length === 1) throw job.snooze(20);
    return 'ok';
  }

  @Process('hopeless', { maxAttempts: 5 })
  hopeless(job: Job) {
    attempts.push({ id: job.id, attempt: job.attempt, at: Date.now() });
    throw new UnrecoverableError('the card was declined for good', { cause: new Error('issuer said no') });
  }

  @Process('progress')
  async progress(job: Job) {
    for (let i = 1; i <= 500; i++) job.progress({ done: i, of: 500 });
    try {
      job.progress({ when: new Map() });
    } catch (err) {
      progressErrors.push(err);
    }
    await progressGate.promise;
    job.progress({ done: 'all' });
    return 'finished';
  }
}

describe('from the handler: snooze, UnrecoverableError, progress', () => {
  const scope = schemaScope('hv');
  let app: INestApplication;
  let admin: QueueAdmin;
  let schema: string;
  // The module's pool, counting the progress writes it sends.
  const pool = new pg.Pool({ connectionString: databaseUrl(), max: 6 });
  let progressWrites = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const q = args[0] as string | { text?: string };
    if ((typeof q === 'string' ? q : q?.text ?? '').includes('SET progress = ')) progressWrites++;
    return query(...args);
  };
  beforeAll(async () => {
    schema = scope.fresh();
    app = await createQueueApp({ schema, queues: ['verbs'], pollIntervalMs: 100, pool, connection: undefined }, [VerbsProcessor]);
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app.close();
    await pool.end();
    await scope.dispose();
  });

  it('job.snooze(ms) returned: due again later, the attempt not counted, no error recorded', async () => {
    const id = await sinkOf(app, 'verbs').push('snoozy', { times: 2 });
    await waitFor('done after two snoozes', async () => (await admin.getJob(id))?.status === 'done');
    const mine = attempts.filter((a) => a.id === id);
    expect(mine.map((a) => a.attempt)).toEqual([1, 1, 1]);
    expect(mine[1].at - mine[0].at).toBeGreaterThanOrEqual(45);
    expect(await admin.getJob(id)).toMatchObject({ attempts: 1, lastError: null, errors: [], result: 'woke up' });
  });

  it('a thrown snooze works the same', async () => {
    const id = await sinkOf(app, 'verbs').push('throws-snooze', {});
    await waitFor('done', async () => (await admin.getJob(id))?.status === 'done');
    expect(attempts.filter((a) => a.id === id).map((a) => a.attempt)).toEqual([1, 1]);
    expect((await admin.getJob(id))!.errors).toEqual([]);
  });

  it('UnrecoverableError ends the job killed at once, with its error, whatever attempts remain', async () => {
    const id = await sinkOf(app, 'verbs').push('hopeless', {});
    await waitFor('killed', async () => (await admin.getJob(id))?.status === 'killed');
    const job = (await admin.getJob(id))!;
    expect(job.attempts).toBe(1);
    expect(job.maxAttempts).toBe(5);
    expect(job.lastError).toMatch(/^UnrecoverableError: the card was declined for good\n[\s\S]*Caused by: Error: issuer said no/);
    expect(attempts.filter((a) => a.id === id)).toHaveLength(1);
  });

  it('job.progress: throttled (500 reports, a few writes), readable while running, the last value kept; a lossy value is refused', async () => {
    const id = await sinkOf(app, 'verbs').push('progress', {});
    const seen = await waitFor('progress readable while running', async () => {
      const j = await admin.getJob(id);
      return j?.status === 'running' && (j.progress as { done?: number } | null)?.done === 500 ? j.progress : null;
    });
    expect(seen).toEqual({ done: 500, of: 500 });
    expect(progressErrors).toHaveLength(1);
    expect(progressErrors[0]).toBeInstanceOf(InvalidJobError);
    expect((progressErrors[0] as Error).message).toBe('Invalid job: progress.when is a Map, which JSON would drop or change: convert it first (e.g. [...set], Object.fromEntries(map), null)');
    const writesWhileRunning = progressWrites;
    progressGate.resolve();
    await waitFor('done', async () => (await admin.getJob(id))?.status === 'done');
    expect((await admin.getJob(id))!.progress).toEqual({ done: 'all' });
    // 500 reports in one tick: the first is written at once, the rest wait for one trailing write.
    expect(writesWhileRunning).toBe(2);
    // The last value is stored with the ack (a write of its own only if 250 ms had passed).
    expect(progressWrites).toBeLessThanOrEqual(3);
  });
});
