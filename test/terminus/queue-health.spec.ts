import { Injectable, type INestApplication } from '@nestjs/common';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotifyBus, Process, Processor, QueueAdmin, type Job } from '../../src/index.js';
import { QueueHealthIndicator } from '../../src/terminus/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';

@Processor('hq')
@Injectable()
class HealthWorker {
  @Process('work')
  work(_job: Job) {
    return 'ok';
  }
}

/** The database through proxies the test can cut: one for the pool, one for the LISTEN connection. */
describe('QueueHealthIndicator (nestjs-pg-queue/terminus)', () => {
  const scope = schemaScope('hlt');
  const real = new URL(databaseUrl());
  const poolProxy = new TcpProxy(real.hostname, Number(real.port || 5432));
  const listenProxy = new TcpProxy(real.hostname, Number(real.port || 5432));
  let app: INestApplication;
  const via = (proxy: TcpProxy) => {
    const u = new URL(databaseUrl());
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    return u.toString();
  };
  beforeAll(async () => {
    await poolProxy.start();
    await listenProxy.start();
    app = await createQueueApp(
      {
        schema: scope.fresh(),
        queues: ['hq', 'idle'],
        connection: { connectionString: via(poolProxy), max: 4, connectionTimeoutMillis: 1000 },
        listenConnection: { connectionString: via(listenProxy) },
        heartbeatIntervalMs: 200,
        orphanTimeoutMs: 10_000,
        bootRetry: false,
      },
      [HealthWorker, QueueHealthIndicator],
      [TerminusModule.forRoot({ logger: false })],
    );
  });
  afterAll(async () => {
    poolProxy.accept();
    listenProxy.accept();
    await app.close();
    await poolProxy.stop();
    await listenProxy.stop();
    await scope.dispose();
  });

  /** What a `@HealthCheck()` route would answer: the body, and the HTTP status. */
  const check = async (options = {}) => {
    try {
      const body = await app.get(HealthCheckService).check([() => app.get(QueueHealthIndicator).isHealthy('queue', options)]);
      return { http: 200, body };
    } catch (err) {
      return { http: (err as { getStatus(): number }).getStatus(), body: (err as { getResponse(): unknown }).getResponse() as Record<string, any> };
    }
  };

  it('up with the figures; down when the database goes away, up again when it is back', async () => {
    // app.init() resolves before the LISTEN connection is up: establish it first.
    await waitFor('the LISTEN connection up', () => app.get(NotifyBus).connected);
    const up = await check();
    expect(up.http).toBe(200);
    expect(up.body).toMatchObject({ status: 'ok', info: { queue: { status: 'up', listen: 'connected', queues: { hq: { lagMs: null, staleRunning: 0 } } } } });
    expect(up.body.info.queue.heartbeatAgeMs).toBeGreaterThanOrEqual(0);

    poolProxy.refuse();
    poolProxy.cutAll();
    const down = await waitFor('down', async () => {
      const r = await check();
      return r.http === 503 ? r : null;
    });
    expect(down.body).toMatchObject({ status: 'error', error: { queue: { status: 'down', database: 'unreachable' } } });

    poolProxy.accept();
    await waitFor('up again', async () => (await check()).http === 200, 20_000);
  });

  it('down when the LISTEN connection has been down longer than the bound, while the pool still answers', async () => {
    listenProxy.refuse();
    listenProxy.cutAll();
    const down = await waitFor('down for the LISTEN connection', async () => {
      const r = await check({ listenDownMs: 300 });
      return r.http === 503 ? r : null;
    });
    expect(down.body.error.queue).toMatchObject({ status: 'down', listen: expect.stringMatching(/^down for \d+ s$/) });
    // Within the bound it is not down: reconnecting.
    listenProxy.accept();
    await waitFor('up again', async () => (await check({ listenDownMs: 300 })).http === 200, 30_000);
  });

  it('degraded (still 200) past the lag threshold', async () => {
    const admin = app.get(QueueAdmin);
    await admin.pause('idle');
    await sinkOf(app, 'idle').push('work', {}, { runAt: new Date(Date.now() - 120_000) });
    const r = await check({ maxLagMs: 60_000 });
    expect(r.http).toBe(200);
    expect(r.body.status).toBe('degraded');
    expect(r.body.info.queue.problems).toEqual([expect.stringMatching(/^queue "idle": oldest due job waiting \d+ ms \(> 60000\)$/)]);
    await admin.deleteMany({ queue: 'idle' });
    await admin.resume('idle');
  });
});
