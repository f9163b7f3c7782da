import { Injectable } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueAdmin, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const aborted: string[] = [];

@Processor('default', { maxAttempts: 1 })
@Injectable()
class Misbehaving {
  @Process('never-settles', { timeoutMs: 100 })
  never(job: Job) {
    job.signal.addEventListener('abort', () => aborted.push(job.id));
    return new Promise(() => undefined);
  }

  @Process('throws-string')
  throwsString() {
    throw 'plain string';
  }

  @Process('throws-undefined')
  throwsUndefined() {
    throw undefined;
  }

  @Process('returns-bigint')
  returnsBigint() {
    return { n: 10n };
  }

  @Process('returns-circular')
  returnsCircular() {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  }

  @Process('ok')
  ok() {
    return 'ok';
  }
}

describe('consumer: misbehaving handlers', () => {
  const pool = testPool();
  const schema = uniqueSchema();
  let app: INestApplication;
  let sink: QueueSink;
  let admin: QueueAdmin;
  beforeAll(async () => {
    app = await createQueueApp({ schema }, [Misbehaving]);
    sink = app.get(getSinkToken('default'));
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  const final = (id: string) =>
    waitFor(`job ${id} killed`, async () => {
      const j = await admin.getJob(id);
      return j?.status === 'killed' ? j : null;
    });

  it('a handler that never settles: timeoutMs aborts job.signal and fails the attempt; the worker goes on', async () => {
    const id = await sink.push('never-settles', {});
    const rec = await final(id);
    expect(rec.lastError).toMatch(/JobTimeoutError: Handler exceeded timeoutMs \(100 ms\)/);
    expect(aborted).toContain(id);
    const next = await sink.push('ok', {});
    await waitFor('next job done', async () => (await admin.getJob(next))?.status === 'done');
  });

  it('non-Error throws are recorded', async () => {
    const a = await final(await sink.push('throws-string', {}));
    expect(a.lastError).toBe('Non-Error thrown: "plain string"');
    const b = await final(await sink.push('throws-undefined', {}));
    expect(b.lastError).toBe('Non-Error thrown: undefined');
  });

  it('a result that is not JSON-serialisable fails the attempt with a clear error', async () => {
    const a = await final(await sink.push('returns-bigint', {}));
    expect(a.lastError).toMatch(/ResultNotSerializableError: Handler result is not JSON-serialisable.*BigInt/);
    const b = await final(await sink.push('returns-circular', {}));
    expect(b.lastError).toMatch(/ResultNotSerializableError.*circular/i);
    expect(b.result).toBeNull();
  });
});
