import type { INestApplication } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidQueueOptionsError, RetentionService } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { rejectionOf, sinkOf } from '../producer/support.js';
import { OpsProcessor, SideProcessor } from './support.js';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;

describe('retention: finished jobs are pruned past their time, per status and per queue', () => {
  const scope = schemaScope('ret');
  const apps: INestApplication[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await scope.dispose();
  });
  const boot = async (schema: string, extra: Record<string, unknown> = {}) => {
    const app = await createQueueApp({ schema, queues: ['ops', { name: 'side', retention: false }], pollIntervalMs: 100, ...extra }, [OpsProcessor, SideProcessor]);
    apps.push(app);
    return app;
  };
  /** Finished rows, `ageMs` ago, inserted as a worker would have left them. */
  const finished = async (schema: string, queue: string, status: string, n: number, ageMs: number, key?: string) => {
    await scope.pool.query(
      `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, done_at, created_at, idempotency_key)
       SELECT 'X' || lpad(to_hex(floor(random() * 1e15)::bigint), 13, '0') || lpad(g::text, 12, '0'), $1, 'work', '{}', $2, 1,
              now() - $3 * interval '1 millisecond', now() - $3 * interval '1 millisecond', $5
       FROM generate_series(1, $4) AS g`,
      [queue, status, ageMs, n, key ?? null],
    );
  };
  const count = async (schema: string, where = 'true') => (await scope.pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE ${where}`)).rows[0].n;

  it('defaults: done and cancelled kept 7 days, killed 30; a queue with retention: false keeps everything; waiting jobs are never touched', async () => {
    const schema = scope.fresh();
    const app = await boot(schema);
    await finished(schema, 'ops', 'done', 3, 8 * DAY);
    await finished(schema, 'ops', 'done', 2, 6 * DAY);
    await finished(schema, 'ops', 'cancelled', 1, 8 * DAY);
    await finished(schema, 'ops', 'killed', 4, 8 * DAY);
    await finished(schema, 'ops', 'killed', 1, 31 * DAY);
    await finished(schema, 'side', 'done', 5, 365 * DAY);
    const waiting = await sinkOf(app, 'ops').push('work', {}, { runAt: new Date(Date.now() + 60 * DAY) });
    await app.get(RetentionService).pruneNow();
    expect(await count(schema, `queue = 'ops' AND status = 'done'`)).toBe(2);
    expect(await count(schema, `queue = 'ops' AND status = 'cancelled'`)).toBe(0);
    expect(await count(schema, `queue = 'ops' AND status = 'killed'`)).toBe(4);
    expect(await count(schema, `queue = 'side'`)).toBe(5);
    expect(await count(schema, `id = '${waiting}'`)).toBe(1);
  });

  it('in batches, by the timer, with one process at a time; a pruned job frees its idempotency key', async () => {
    const schema = scope.fresh();
    const options = { retention: { done: 60_000, killed: false }, pruneIntervalMs: 200 };
    const a = await boot(schema, options);
    const b = await boot(schema, options);
    await finished(schema, 'ops', 'done', 2500, HOUR);
    await finished(schema, 'ops', 'done', 1, HOUR, 'invoice-7');
    await finished(schema, 'ops', 'killed', 3, 365 * DAY);
    await finished(schema, 'ops', 'done', 4, 1000); // younger than a minute: kept
    await waitFor('the timer pruned every old done job', async () => (await count(schema, `status = 'done'`)) === 4, 30_000);
    // Both processes asked at once: one deletes, the other finds the lock taken; nothing fails.
    await finished(schema, 'ops', 'done', 1200, HOUR);
    await Promise.all([a.get(RetentionService).pruneNow(), b.get(RetentionService).pruneNow()]);
    await waitFor('the rest pruned', async () => (await count(schema, `status = 'done'`)) === 4, 30_000);
    expect(await count(schema, `status = 'killed'`)).toBe(3);
    const again = await sinkOf(a, 'ops').push('work', {}, { idempotencyKey: 'invoice-7' });
    expect(again).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
  });

  it('bad retention options fail at bootstrap, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ retention: { doen: 1000 } }, 'QueueModule option "retention.doen" is not a finished status; did you mean "done"? (done, cancelled, killed)'],
      [{ retention: { done: 10 } }, 'QueueModule option "retention.done" must be false or milliseconds from 1000 to 100 years, got 10'],
      [{ retention: '7d' }, 'QueueModule option "retention" must be false or { done?, cancelled?, killed? } (milliseconds, or false to keep forever)'],
      [{ queues: [{ name: 'ops', retention: { killed: true } }] }, 'QueueModule option "queues[0].retention.killed" must be false or milliseconds from 1000 to 100 years, got true'],
    ];
    for (const [extra, message] of cases) {
      const err = await rejectionOf(createQueueApp({ schema: scope.fresh(), queues: ['ops'], ...extra }));
      expect(err).toBeInstanceOf(InvalidQueueOptionsError);
      expect(err.message).toBe(message);
    }
  });
});
