import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  getSinkToken,
  InjectSink,
  QueueAdmin,
  QueueModule,
  QueueRegistry,
  QueueSink,
} from '../../src/index.js';
import { QUEUE_POOL } from '../../src/queue.tokens.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { expectInvalidJob } from './support.js';

const CONFIG = Symbol('config');

@Module({
  providers: [{ provide: CONFIG, useFactory: () => ({ url: databaseUrl(), schema: asyncSchema }) }],
  exports: [CONFIG],
})
class ConfigModule {}

@Injectable()
class Mailer {
  constructor(
    @InjectSink('mail') readonly mail: QueueSink,
    @Inject(getSinkToken('reports')) readonly reports: QueueSink,
  ) {}
}

const rootSchema = uniqueSchema('wire');
const asyncSchema = uniqueSchema('wirea');
const poolSchema = uniqueSchema('wirep');

describe('QueueModule wiring', () => {
  const pool = testPool();
  afterAll(async () => {
    for (const s of [rootSchema, asyncSchema, poolSchema]) await dropSchema(pool, s);
    await pool.end();
  });

  it('forRoot provides a sink per queue under getSinkToken / @InjectSink, the registry and QueueAdmin', async () => {
    const app = await createQueueApp({ schema: rootSchema, queues: ['mail', { name: 'reports', concurrency: 2 }] }, [Mailer]);
    try {
      const mailer = app.get(Mailer);
      expect(mailer.mail).toBeInstanceOf(QueueSink);
      expect(mailer.mail.queue).toBe('mail');
      expect(mailer.reports.queue).toBe('reports');
      expect(app.get(getSinkToken('mail'))).toBe(mailer.mail);
      const registry = app.get(QueueRegistry);
      expect(registry.sink('reports')).toBe(mailer.reports);
      expect(registry.queues).toEqual(['mail', 'reports']);

      const e = await expectInvalidJob(async () => registry.sink('nope'), 'queue');
      expect(e.message).toContain('nope');

      const a = await mailer.mail.push('welcome', { userId: 1 });
      const b = await mailer.mail.push('welcome', { userId: 2 });
      const c = await mailer.reports.push('daily', { day: '2025-01-01' });
      const admin = app.get(QueueAdmin);
      const job = await admin.getJob(a);
      expect(job).toMatchObject({ id: a, queue: 'mail', name: 'welcome', data: { userId: 1 }, status: 'pending', attempts: 0 });
      expect((await admin.getJob(c))?.queue).toBe('reports');
      expect(await admin.getJob('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBeNull();
      expect(b).not.toBe(a);

      const zeros = { pending: 0, running: 0, done: 0, retrying: 0, killed: 0, cancelled: 0, paused: false, staleRunning: 0 };
      // This app has no handlers: no live worker can run these due jobs, and they wait (lagMs).
      const stats = await admin.stats();
      expect(Object.keys(stats)).toEqual(['mail', 'reports']);
      expect(stats).toMatchObject({
        mail: { ...zeros, pending: 2, unhandled: { welcome: 2 } },
        reports: { ...zeros, pending: 1, unhandled: { daily: 1 } },
      });
      for (const q of ['mail', 'reports']) expect(stats[q].lagMs).toBeGreaterThanOrEqual(0);
    } finally {
      await app.close();
    }
  });

  it('forRootAsync takes imports / inject / useFactory; forFeature registers @InjectSink for its queues', async () => {
    let factoryCalls = 0;
    const moduleRef = await Test.createTestingModule({
      imports: [
        QueueModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: async (cfg: { url: string; schema: string }) => {
            factoryCalls++;
            return { connection: { connectionString: cfg.url, max: 3 }, schema: cfg.schema, queues: ['mail', 'reports'] };
          },
        }),
        QueueModule.forFeature('mail', 'reports'),
      ],
      providers: [Mailer],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      expect(factoryCalls).toBe(1);
      const mailer = app.get(Mailer);
      expect(mailer.mail.queue).toBe('mail');
      const id = await mailer.mail.push('welcome', { userId: 7 }, { priority: 3 });
      const job = await app.get(QueueAdmin).getJob(id);
      expect(job).toMatchObject({ queue: 'mail', name: 'welcome', data: { userId: 7 }, priority: 3 });
      // The factory's schema was used.
      const r = await pool.query(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(asyncSchema)}.jobs`);
      expect(r.rows[0].n).toBe(1);
      expect(app.get(QueueRegistry).sink('reports')).toBe(mailer.reports);
      await expectInvalidJob(async () => app.get(QueueRegistry).sink('nope'), 'queue');
    } finally {
      await app.close();
    }
  });

  it('uses an existing pool it is given and never closes it', async () => {
    let queries = 0;
    class CountingPool extends pg.Pool {
      override query(...args: any[]): any {
        queries++;
        return (super.query as (...a: any[]) => any)(...args);
      }
    }
    const own = new CountingPool({ connectionString: databaseUrl(), max: 3 });
    own.on('error', () => undefined);
    try {
      const app = await createQueueApp({ schema: poolSchema, connection: undefined, pool: own });
      const before = queries;
      const id = await app.get<QueueSink>(getSinkToken('default')).push('x', { n: 1 });
      expect(queries).toBeGreaterThan(before);
      await app.close();

      expect(own.ended).toBe(false);
      const r = await own.query(`SELECT name FROM ${pg.escapeIdentifier(poolSchema)}.jobs WHERE id = $1`, [id]);
      expect(r.rows).toEqual([{ name: 'x' }]);
    } finally {
      await own.end();
    }
  });

  it('closes the pool it created on app.close()', async () => {
    const app = await createQueueApp({ schema: rootSchema });
    const created = app.get<pg.Pool>(QUEUE_POOL);
    expect(created).toBeInstanceOf(pg.Pool);
    await app.close();
    expect(created.ended).toBe(true);
  });
});
