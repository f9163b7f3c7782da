import type { INestApplication } from '@nestjs/common';
import type pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidJobError, QueueAdmin } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
import { rejectionOf, sinkOf } from '../producer/support.js';
import { countingPool, OpsProcessor, resetRecords, SideProcessor, startedIds, starts } from './support.js';

describe('QueueAdmin.pause / resume', () => {
  const scope = schemaScope('pau');
  const apps: INestApplication[] = [];
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    for (const pool of pools) await pool.end().catch(() => undefined);
    await scope.dispose();
  });
  beforeEach(resetRecords);
  const boot = async (schema: string, extra: Record<string, unknown> = {}) => {
    const counting = countingPool(databaseUrl());
    pools.push(counting.pool);
    const app = await createQueueApp(
      { schema, queues: [{ name: 'ops', concurrency: 4 }, 'side'], pollIntervalMs: 100, pool: counting.pool, connection: undefined, ...extra },
      [OpsProcessor, SideProcessor],
    );
    apps.push(app);
    return { app, admin: app.get(QueueAdmin), claims: counting.claims };
  };
  const statusOf = async (schema: string, id: string) => (await scope.pool.query(`SELECT status FROM ${schema}.jobs WHERE id = $1`, [id])).rows[0]?.status;

  it('a paused queue accepts pushes, claims nothing through NOTIFYs and polls, and runs them once resumed; other queues go on', async () => {
    const schema = scope.fresh();
    const { app, admin, claims } = await boot(schema);
    expect(await admin.pause('ops', { reason: 'payments API down' })).toMatchObject({ queue: 'ops', paused: true, reason: 'payments API down' });
    expect(await admin.isPaused('ops')).toBe(true);
    const ids = await sinkOf(app, 'ops').pushMany(Array.from({ length: 5 }, () => ({ name: 'work', data: {} })));
    // The fetcher of "ops" tried, woken by the NOTIFY and by five polls since, and took nothing.
    const from = claims.get('ops') ?? 0;
    await waitFor('five more claims of the paused queue', () => (claims.get('ops') ?? 0) >= from + 5);
    const side = await sinkOf(app, 'side').push('work', {});
    await waitFor('the other queue runs', async () => (await statusOf(schema, side)) === 'done');
    for (const id of ids) expect(await statusOf(schema, id)).toBe('pending');
    expect(startedIds().filter((id) => ids.includes(id))).toEqual([]);
    expect((await admin.stats()).ops).toMatchObject({ paused: true, pending: 5 });

    expect(await admin.resume('ops')).toBe(true);
    expect(await admin.resume('ops')).toBe(false);
    expect(await admin.isPaused('ops')).toBe(false);
    await waitFor('every job done after the resume', async () => {
      const { rows } = await scope.pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE id = ANY($1) AND status = 'done'`, [ids]);
      return rows[0].n === 5;
    });
    expect((await admin.stats()).ops.paused).toBe(false);
  });

  it('pause racing claims: no job pushed after pause() resolved starts until resume', async () => {
    const schema = scope.fresh();
    const { app, admin } = await boot(schema);
    const sink = sinkOf(app, 'ops');
    let pushing = true;
    const before: string[] = [];
    const stream = (async () => {
      while (pushing) before.push(await sink.push('work', { ms: 2 }));
    })();
    await waitFor('jobs running', () => starts.length >= 20);
    await admin.pause('ops');
    pushing = false;
    await stream;
    const after = await sink.pushMany(Array.from({ length: 20 }, () => ({ name: 'work', data: {} })));
    // Whatever a claim in flight at the pause took finishes; nothing else starts.
    await waitFor('nothing running', async () => {
      const { rows } = await scope.pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE queue = 'ops' AND status = 'running'`);
      return rows[0].n === 0;
    });
    const side = await sinkOf(app, 'side').push('work', {});
    await waitFor('the other queue runs', async () => (await statusOf(schema, side)) === 'done');
    expect(startedIds().filter((id) => after.includes(id))).toEqual([]);
    await admin.resume('ops');
    await waitFor('all done', async () => {
      const { rows } = await scope.pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE queue = 'ops' AND status <> 'done'`);
      return rows[0].n === 0;
    });
    expect(new Set(startedIds()).size).toBe(startedIds().length); // each ran once
  });

  it('stays paused across a restart; startPaused pauses a queue with no recorded state only', async () => {
    const schema = scope.fresh();
    const first = await boot(schema, { queues: [{ name: 'ops', startPaused: true }, 'side'] });
    expect(await first.admin.isPaused('ops')).toBe(true);
    await first.admin.resume('ops');
    await first.admin.pause('side', { reason: 'maintenance' });
    await first.app.close();
    // A restart with the same options: the resume holds, and so does the other pause.
    const second = await boot(schema, { queues: [{ name: 'ops', startPaused: true }, 'side'] });
    expect(await second.admin.isPaused('ops')).toBe(false);
    expect(await second.admin.isPaused('side')).toBe(true);
    await second.admin.resume('side');
  });

  it('refuses a queue forRoot does not register, and a bad reason, naming the field', async () => {
    const schema = scope.fresh();
    const { admin } = await boot(schema);
    const e1 = await rejectionOf(admin.pause('opps'));
    expect(e1).toBeInstanceOf(InvalidJobError);
    expect(e1.message).toBe('Invalid job: queue "opps" is not a registered queue (known: ops, side)');
    const e2 = await rejectionOf(admin.pause('ops', { reason: 42 as never }));
    expect(e2.message).toBe('Invalid job: options.reason must be a string of at most 1000 characters');
    expect(await admin.isPaused('ops')).toBe(false);
  });
});
