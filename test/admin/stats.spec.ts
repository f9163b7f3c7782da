import { describe, expect, it } from 'vitest';
import { sinkOf } from '../producer/support.js';
import { opsApp } from './support.js';

describe('QueueAdmin.stats: what helps in an incident', () => {
  const t = opsApp('sta', { queues: ['ops', 'side'], pollIntervalMs: 100, heartbeatIntervalMs: 100, orphanTimeoutMs: 60_000 });

  it('lagMs: how long the oldest due waiting job has waited, across priorities; null when nothing is due', async () => {
    await t.admin.pause('ops');
    expect((await t.admin.stats()).ops.lagMs).toBeNull();
    const sink = sinkOf(t.app, 'ops');
    await sink.push('work', {}, { delayMs: 60_000 }); // not due: no lag
    expect((await t.admin.stats()).ops.lagMs).toBeNull();
    await sink.push('work', {}, { runAt: new Date(Date.now() - 5_000), priority: 1 });
    await sink.push('work', {}, { runAt: new Date(Date.now() - 20_000), priority: -3 });
    await sink.push('work', {}, { runAt: new Date(Date.now() - 1_000), priority: 7 });
    const lag = (await t.admin.stats()).ops.lagMs!;
    // The database's clock against ours: allow them a second apart.
    expect(lag).toBeGreaterThanOrEqual(19_000);
    expect(lag).toBeLessThan(22_000);
    expect((await t.admin.stats()).side.lagMs).toBeNull();
    await t.admin.deleteMany({ queue: 'ops' });
    await t.admin.resume('ops');
  });

  it('staleRunning: running jobs whose worker missed two heartbeats', async () => {
    const s = `${t.schema}.jobs`;
    await t.scope.pool.query(
      `INSERT INTO ${s} (id, queue, name, payload, status, attempts, locked_at, locked_by)
       VALUES ('01JB0000000000000000000001', 'side', 'work', '{}', 'running', 1, now(), 'gone-worker'),
              ('01JB0000000000000000000002', 'side', 'work', '{}', 'running', 1, now(), 'gone-worker')`,
    );
    const stats = await t.admin.stats();
    expect(stats.side.staleRunning).toBe(2);
    expect(stats.ops.staleRunning).toBe(0);
    expect(stats.side.running).toBe(2);
    await t.admin.cancelMany({ queue: 'side', status: 'running' });
    expect((await t.admin.stats()).side.staleRunning).toBe(0);
  });
});
