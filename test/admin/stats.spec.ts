import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueAdmin } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { sinkOf } from '../producer/support.js';
import { OpsProcessor, SideProcessor } from './support.js';

describe('QueueAdmin.stats: what helps in an incident', () => {
  const scope = schemaScope('sta');
  let app: INestApplication;
  let admin: QueueAdmin;
  let schema: string;
  beforeAll(async () => {
    schema = scope.fresh();
    app = await createQueueApp({ schema, queues: ['ops', 'side'], pollIntervalMs: 100, heartbeatIntervalMs: 100, orphanTimeoutMs: 60_000 }, [
      OpsProcessor,
      SideProcessor,
    ]);
    admin = app.get(QueueAdmin);
  });
  afterAll(async () => {
    await app.close();
    await scope.dispose();
  });

  it('lagMs: how long the oldest due waiting job has waited, across priorities; null when nothing is due', async () => {
    await admin.pause('ops');
    expect((await admin.stats()).ops.lagMs).toBeNull();
    const sink = sinkOf(app, 'ops');
    await sink.push('work', {}, { delayMs: 60_000 }); // not due: no lag
    expect((await admin.stats()).ops.lagMs).toBeNull();
    await sink.push('work', {}, { runAt: new Date(Date.now() - 5_000), priority: 1 });
    await sink.push('work', {}, { runAt: new Date(Date.now() - 20_000), priority: -3 });
    await sink.push('work', {}, { runAt: new Date(Date.now() - 1_000), priority: 7 });
    const lag = (await admin.stats()).ops.lagMs!;
    // The database's clock against ours: allow them a second apart.
    expect(lag).toBeGreaterThanOrEqual(19_000);
    expect(lag).toBeLessThan(22_000);
    expect((await admin.stats()).side.lagMs).toBeNull();
    await admin.deleteMany({ queue: 'ops' });
    await admin.resume('ops');
  });

  it('staleRunning: running jobs whose worker missed two heartbeats', async () => {
    const s = `${schema}.jobs`;
    await scope.pool.query(
      `INSERT INTO ${s} (id, queue, name, payload, status, attempts, locked_at, locked_by)
       VALUES ('01JB0000000000000000000001', 'side', 'work', '{}', 'running', 1, now(), 'gone-worker'),
              ('01JB0000000000000000000002', 'side', 'work', '{}', 'running', 1, now(), 'gone-worker')`,
    );
    const stats = await admin.stats();
    expect(stats.side.staleRunning).toBe(2);
    expect(stats.ops.staleRunning).toBe(0);
    expect(stats.side.running).toBe(2);
    await admin.cancelMany({ queue: 'side', status: 'running' });
    expect((await admin.stats()).side.staleRunning).toBe(0);
  });
});
