import { Test } from '@nestjs/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidQueueOptionsError, QueueError, QueueModule, type QueueModuleOptions } from '../../src/index.js';
import { testPool, uniqueSchema } from '../helpers/db.js';
import { rejectionOf } from './support.js';

/**
 * Every bad option must be refused before any SQL runs: the connection below points at a closed
 * port, so a validation that happened after a connection attempt would surface as ECONNREFUSED.
 */
const unreachable = { connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2000 };
const base = { connection: unreachable, queues: ['default'], schema: uniqueSchema('opt') };

async function bootForRoot(options: unknown): Promise<void> {
  const moduleRef = await Test.createTestingModule({ imports: [QueueModule.forRoot(options as QueueModuleOptions)] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  await app.close();
}

async function bootForRootAsync(options: unknown): Promise<void> {
  const moduleRef = await Test.createTestingModule({
    imports: [QueueModule.forRootAsync({ useFactory: async () => options as QueueModuleOptions })],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  await app.close();
}

const pool = new pg.Pool({ connectionString: unreachable.connectionString });
pool.on('error', () => undefined);

const cases: Array<[what: string, options: Record<string, unknown>, option: string]> = [
  ['schema with SQL injected', { schema: 'x"; DROP TABLE y; --' }, 'schema'],
  ['schema starting with a digit', { schema: '1queue' }, 'schema'],
  ['schema with a dash', { schema: 'my-queue' }, 'schema'],
  ['empty schema', { schema: '' }, 'schema'],
  ['schema over 50 characters', { schema: 'a'.repeat(51) }, 'schema'],
  ['schema not a string', { schema: 42 }, 'schema'],
  ['unknown option', { concurency: 3 }, 'concurency'],
  ['duplicate queue', { queues: ['a', { name: 'a' }] }, 'queues[1].name'],
  ['empty queue name', { queues: [''] }, 'queues[0].name'],
  ['queue name not a string', { queues: [7] }, 'queues[0]'],
  ['unknown queue option', { queues: [{ name: 'a', concurency: 2 }] }, 'queues[0].concurency'],
  ['no queues', { queues: [] }, 'queues'],
  ['queues missing', { queues: undefined }, 'queues'],
  ['concurrency 0', { queues: [{ name: 'a', concurrency: 0 }] }, 'queues[0].concurrency'],
  ['concurrency 1.5', { queues: [{ name: 'a', concurrency: 1.5 }] }, 'queues[0].concurrency'],
  ['prefetch negative', { queues: [{ name: 'a', prefetch: -1 }] }, 'queues[0].prefetch'],
  ['prefetch 2.5', { queues: [{ name: 'a', prefetch: 2.5 }] }, 'queues[0].prefetch'],
  ['prefetch as a string', { queues: ['b', { name: 'a', prefetch: '500' }] }, 'queues[1].prefetch'],
  ['prefetch over 10,000', { queues: [{ name: 'a', prefetch: 10_001 }] }, 'queues[0].prefetch'],
  ['directStart as a string', { queues: [{ name: 'a', directStart: 'yes' }] }, 'queues[0].directStart'],
  ['directStart as a number', { queues: ['b', { name: 'a', directStart: 0 }] }, 'queues[1].directStart'],
  ['queue maxAttempts 0', { queues: [{ name: 'a', maxAttempts: 0 }] }, 'queues[0].maxAttempts'],
  ['queue pollIntervalMs too small', { queues: [{ name: 'a', pollIntervalMs: 1 }] }, 'queues[0].pollIntervalMs'],
  ['pollIntervalMs 0', { pollIntervalMs: 0 }, 'pollIntervalMs'],
  ['pollIntervalMs NaN', { pollIntervalMs: Number.NaN }, 'pollIntervalMs'],
  ['pollIntervalMs as a string', { pollIntervalMs: '1000' }, 'pollIntervalMs'],
  ['pollIntervalMs Infinity', { pollIntervalMs: Number.POSITIVE_INFINITY }, 'pollIntervalMs'],
  ['heartbeatIntervalMs negative', { heartbeatIntervalMs: -1 }, 'heartbeatIntervalMs'],
  ['orphanTimeoutMs under twice the heartbeat', { heartbeatIntervalMs: 5000, orphanTimeoutMs: 6000 }, 'orphanTimeoutMs'],
  ['shutdownGraceMs negative', { shutdownGraceMs: -5 }, 'shutdownGraceMs'],
  ['maxAttempts 0', { maxAttempts: 0 }, 'maxAttempts'],
  ['maxAttempts 2.5', { maxAttempts: 2.5 }, 'maxAttempts'],
  ['maxPayloadBytes 0', { maxPayloadBytes: 0 }, 'maxPayloadBytes'],
  ['backoff of unknown type', { backoff: { type: 'linear' } }, 'backoff'],
  ['backoff with negative base', { backoff: { type: 'exponential', baseMs: -1 } }, 'backoff.baseMs'],
  ['fixed backoff without delay', { backoff: { type: 'fixed' } }, 'backoff.delayMs'],
  ['backoff with an unknown key', { backoff: { type: 'fixed', delayMs: 5, delay: 5 } }, 'backoff.delay'],
  ['migrate not a boolean', { migrate: 'yes' }, 'migrate'],
  ['workers not a boolean', { workers: 1 }, 'workers'],
  ['connection not an object', { connection: 'postgres://x' }, 'connection'],
  ['listenConnection not an object', { listenConnection: 'postgres://x' }, 'listenConnection'],
  ['pool and connection together', { pool }, 'pool'],
  ['neither pool nor connection', { connection: undefined }, 'connection'],
  ['pool that is not a pool', { connection: undefined, pool: { query: () => undefined } }, 'pool'],
];

describe('module options are validated at bootstrap', () => {
  const check = testPool(1);
  afterAll(async () => {
    await pool.end();
    await check.end();
  });

  it.each(cases)('forRoot refuses %s', async (_what, bad, option) => {
    const err = await rejectionOf(bootForRoot({ ...base, ...bad }));
    expect(err).toBeInstanceOf(InvalidQueueOptionsError);
    expect(err).toBeInstanceOf(QueueError);
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.option).toBe(option);
    expect(err.message).toContain(`"${option}"`);
  });

  it.each(cases)('forRootAsync refuses %s', async (_what, bad, option) => {
    const err = await rejectionOf(bootForRootAsync({ ...base, ...bad }));
    expect(err).toBeInstanceOf(InvalidQueueOptionsError);
    expect(err.option).toBe(option);
  });

  it('a connection string where a config object belongs: says how to pass it, without echoing it (it may hold a password)', async () => {
    const url = 'postgres://app:s3cret@db.internal:5432/app';
    const err = await rejectionOf(bootForRoot({ ...base, connection: url }));
    expect(err.message).toBe(`QueueModule option "connection" must be a pg PoolConfig object: use { connectionString: '…' } for a connection string`);
    const listen = await rejectionOf(bootForRoot({ ...base, listenConnection: url }));
    expect(listen.message).toBe(`QueueModule option "listenConnection" must be a pg ClientConfig object: use { connectionString: '…' } for a connection string`);
  });

  it('a misspelt module, queue or backoff option gets "did you mean"; a key close to none gets no guess', async () => {
    expect((await rejectionOf(bootForRoot({ ...base, pollIntervalMS: 100 }))).message).toBe(
      'QueueModule option "pollIntervalMS" is not a known option; did you mean "pollIntervalMs"?',
    );
    expect((await rejectionOf(bootForRoot({ ...base, queues: [{ name: 'q', concurency: 2 }] }))).message).toBe(
      'QueueModule option "queues[0].concurency" is not a known queue option; did you mean "concurrency"?',
    );
    expect((await rejectionOf(bootForRoot({ ...base, backoff: { type: 'fixed', delayMS: 5 } }))).message).toBe(
      'QueueModule option "backoff.delayMS" is not a known backoff option; did you mean "delayMs"?',
    );
    expect((await rejectionOf(bootForRoot({ ...base, colour: 'blue' }))).message).toBe('QueueModule option "colour" is not a known option');
  });

  it('refuses options that are not an object', async () => {
    expect((await rejectionOf(bootForRootAsync(null))).option).toBe('options');
    expect((await rejectionOf(bootForRoot('postgres://x'))).option).toBe('options');
  });

  it('ran no SQL for the injected schema name', async () => {
    const r = await check.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'x%DROP%'`);
    expect(r.rows).toEqual([]);
  });
});
