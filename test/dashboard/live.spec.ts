/**
 * The dashboard's live stream: server-sent events under the same guards, one shared snapshot per
 * tick for every viewer (one read, not one per viewer), none while nobody watches.
 */
import { Injectable, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueDashboardModule } from '../../src/dashboard/index.js';
import { QUEUE_POOL } from '../../src/queue.tokens.js';
import { QueueModule } from '../../src/index.js';
import { databaseUrl, dropSchema, observeQueries, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'live-token';

@Injectable()
class TokenGuard implements CanActivate {
  canActivate(ctx: ExecutionContext): boolean {
    return ctx.switchToHttp().getRequest().headers['x-dashboard-token'] === TOKEN;
  }
}

/** An SSE client on node's http: the parsed `data:` events, and a close. */
function openStream(port: number, token?: string) {
  const events: Array<{ at: string; queues: Record<string, unknown>; lagHistory: Record<string, unknown[]> }> = [];
  let statusCode = 0;
  const req = http.get({ port, path: '/queues/api/live', headers: token ? { 'x-dashboard-token': token } : {}, agent: false }, (res) => {
    statusCode = res.statusCode ?? 0;
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
        if (data) events.push(JSON.parse(data));
      }
    });
  });
  req.on('error', () => undefined);
  return { events, status: () => statusCode, close: () => req.destroy() };
}

describe('dashboard live stream', () => {
  const schema = uniqueSchema('dashlive');
  const pool = testPool();
  let app: INestApplication;
  let port: number;
  let reads = 0;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        QueueModule.forRoot({ connection: { connectionString: databaseUrl(), max: 3 }, schema, queues: ['mail'], workers: false }),
        QueueDashboardModule.forRoot({ guards: [TokenGuard], liveIntervalMs: 150 }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    // One throughput statement per overview read.
    observeQueries(app.get(QUEUE_POOL), (text) => void (text.includes("date_trunc('minute', done_at)") && reads++));
    await app.init();
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('refuses a viewer without the guard\'s credentials with 403', async () => {
    const s = openStream(port);
    await waitFor('a status', () => s.status() !== 0);
    expect(s.status()).toBe(403);
    s.close();
  });

  it('an open stream ends when the app closes (the HTTP server is not held open by a viewer)', async () => {
    // A second app of its own: closing it is the test.
    const other = await Test.createTestingModule({
      imports: [QueueModule.forRoot({ connection: { connectionString: databaseUrl(), max: 2 }, schema, queues: ['mail'], workers: false }), QueueDashboardModule.forRoot({ liveIntervalMs: 150 })],
    }).compile();
    const otherApp = other.createNestApplication({ logger: false });
    await otherApp.init();
    await otherApp.listen(0, '127.0.0.1');
    const viewer = openStream((otherApp.getHttpServer().address() as AddressInfo).port);
    await waitFor('a snapshot', () => viewer.events.length > 0);
    await otherApp.close();
    viewer.close();
  });

  it('two viewers share one read per tick, and nothing is read once both leave', async () => {
    const a = openStream(port, TOKEN);
    const b = openStream(port, TOKEN);
    await waitFor('both viewers to get 5 snapshots', () => a.events.length >= 5 && b.events.length >= 5, 15_000);
    a.close();
    b.close();
    const seen = new Set([...a.events, ...b.events].map((e) => e.at));
    // Every snapshot either viewer got came from one read: reads are the distinct snapshots (one may be in flight).
    expect(reads).toBeGreaterThanOrEqual(seen.size);
    expect(reads).toBeLessThanOrEqual(seen.size + 1);
    // After b's first event, both saw the same snapshots.
    const bAts = b.events.map((e) => e.at);
    expect(a.events.map((e) => e.at).filter((at) => at >= bAts[0]).slice(0, 3)).toEqual(bAts.slice(0, 3));
    expect(a.events.at(-1)!.queues).toHaveProperty('mail');
    expect(a.events.at(-1)!.lagHistory.mail.length).toBeGreaterThanOrEqual(5);
    // Nobody watches: the timer stops (checked over several ticks).
    await waitFor('the streams to close on the server', async () => {
      const before = reads;
      const t = Date.now();
      await waitFor('4 ticks to pass', () => Date.now() - t > 600);
      return reads === before;
    });
  });
});
