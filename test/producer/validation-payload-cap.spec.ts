import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueAdmin, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { countJobs, expectInvalidJob, sinkOf } from './support.js';

/** A string whose JSON form (with its quotes) is exactly `bytes` bytes of UTF-8. */
const jsonOfBytes = (bytes: number, char = 'x'): string => char.repeat((bytes - 2) / Buffer.byteLength(char));

describe('the payload cap is configurable (maxPayloadBytes) and counts UTF-8 bytes of JSON', () => {
  const schema = uniqueSchema('cap');
  const pool = testPool();
  let app: INestApplication;
  let sink: QueueSink;

  beforeAll(async () => {
    app = await createQueueApp({ schema, maxPayloadBytes: 1024 });
    sink = sinkOf(app);
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('exactly at the cap is accepted', async () => {
    const data = jsonOfBytes(1024);
    expect(Buffer.byteLength(JSON.stringify(data))).toBe(1024);
    const id = await sink.push('edge', data);
    expect((await app.get(QueueAdmin).getJob(id))?.data).toBe(data);
    await pool.query(`DELETE FROM "${schema}".jobs`);
  });

  it('one byte over is refused, as are multi-byte strings shorter in characters than the cap', async () => {
    const e = await expectInvalidJob(() => sink.push('big', jsonOfBytes(1025)), 'data');
    expect(e.message).toMatch(/1025 bytes.*1024/);
    const euros = '€'.repeat(400); // 400 characters, 1,202 bytes of JSON
    await expectInvalidJob(() => sink.push('big', euros), 'data');
    await expectInvalidJob(() => sink.push('big', {}, { metadata: { s: euros } }), 'options.metadata');
    await expectInvalidJob(() => sink.pushMany([{ name: 'a', data: 1 }, { name: 'b', data: euros }]), 'jobs[1].data');
    expect(await countJobs(pool, schema)).toBe(0);
  });
});
