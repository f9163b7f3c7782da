import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueAdmin, type Job, type QueueSink } from '../src/index.js';
import { createQueueApp } from './helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from './helpers/db.js';
import { deferred, waitFor } from './helpers/wait.js';

const ran = deferred<Job>();

@Processor('default')
@Injectable()
class Echo {
  @Process('echo')
  echo(job: Job<{ n: number }>) {
    ran.resolve(job);
    return { doubled: job.data.n * 2 };
  }
}

describe('smoke', () => {
  const schema = uniqueSchema();
  const pool = testPool();
  afterAll(async () => {
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('pushes and runs a job', async () => {
    const app = await createQueueApp({ schema }, [Echo]);
    const sink = app.get<QueueSink>(getSinkToken('default'));
    const id = await sink.push('echo', { n: 21 });
    const job = await ran.promise;
    expect(job.id).toBe(id);
    const admin = app.get(QueueAdmin);
    const rec = await waitFor('done', async () => {
      const r = await admin.getJob(id);
      return r?.status === 'done' ? r : null;
    });
    expect(rec.result).toEqual({ doubled: 42 });
    await app.close();
  });
});
