import net from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, InvalidQueueOptionsError, QueueAdmin } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { CapturingLogger } from '../helpers/logger.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { rejectionOf } from './support.js';

/** A loopback port nothing listens on (bound once, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** The suite's database URL with one part changed. */
function urlWith(change: (u: URL) => void): string {
  const u = new URL(databaseUrl());
  change(u);
  return u.toString();
}

describe('bootstrap when the database cannot be reached', () => {
  const scope = schemaScope('dbu');
  afterAll(() => scope.dispose());
  const real = new URL(databaseUrl());
  const user = decodeURIComponent(real.username) || 'postgres';
  const database = decodeURIComponent(real.pathname.slice(1));

  const boot = async (connectionString: string, extra: Record<string, unknown> = {}, logger = new CapturingLogger()) => {
    const err = await rejectionOf(
      createQueueApp({ schema: scope.fresh(), connection: { connectionString }, queues: ['q'], ...extra }, [], [], logger),
    );
    return { err, logger };
  };

  it('nothing listening: each attempt logged once, then DatabaseUnavailableError naming host, port, database, user and schema, pg cause kept', async () => {
    const port = await closedPort();
    const url = urlWith((u) => {
      u.hostname = '127.0.0.1';
      u.port = String(port);
      u.password = 's3cr3t-never-shown';
    });
    const { err, logger } = await boot(url, { schema: 'boot_schema', bootRetry: { attempts: 3, delayMs: 50 } });
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    const e = err as DatabaseUnavailableError;
    expect(e.code).toBe('DATABASE_UNAVAILABLE');
    expect(e.target).toEqual({ host: '127.0.0.1', port, database, user });
    expect(e.schema).toBe('boot_schema');
    expect(e.message).toMatch(
      new RegExp(
        `^The queue's database is unavailable \\(host 127\\.0\\.0\\.1, port ${port}, database "${database}", user "${user}", schema "boot_schema"\\): ` +
          `connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; gave up after 3 attempts over \\d+\\.\\d s$`,
      ),
    );
    expect((e.cause as { code?: string }).code).toBe('ECONNREFUSED');
    const where = `host 127.0.0.1, port ${port}, database "${database}", user "${user}"`;
    expect(logger.warnings).toEqual([
      `database unavailable at boot (connect ECONNREFUSED 127.0.0.1:${port}; ${where}): attempt 1 of 3, retrying in 50 ms`,
      `database unavailable at boot (connect ECONNREFUSED 127.0.0.1:${port}; ${where}): attempt 2 of 3, retrying in 100 ms`,
    ]);
    for (const line of [e.message, ...logger.warnings]) expect(line).not.toContain('s3cr3t');
  });

  it('bootRetry: false is one attempt and no retry line', async () => {
    const port = await closedPort();
    const { err, logger } = await boot(urlWith((u) => ((u.hostname = '127.0.0.1'), (u.port = String(port)))), { bootRetry: false });
    expect((err as Error).message).toMatch(/: connect ECONNREFUSED 127\.0\.0\.1:\d+; gave up after 1 attempt$/);
    expect(logger.warnings).toEqual([]);
  });

  it('a database that does not exist fails at once (not retried), with pg\'s message', async () => {
    const { err, logger } = await boot(urlWith((u) => (u.pathname = '/no_such_database_here')), { bootRetry: { attempts: 5, delayMs: 50 } });
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toContain('database "no_such_database_here", user');
    expect((err as Error).message).toMatch(
      /: database "no_such_database_here" does not exist; gave up after 1 attempt \(not retried: a refused login or a missing database does not fix itself\)$/,
    );
    expect(((err as Error).cause as { code?: string }).code).toBe('3D000');
    expect(logger.warnings).toEqual([]);
  });

  it('a wrong password fails at once, and the password appears nowhere', async (ctx) => {
    const wrong = urlWith((u) => (u.password = 'definitely-wrong-pw'));
    // A server that trusts loopback connections accepts any password: nothing to test there.
    const probe = new pg.Client({ connectionString: wrong });
    const refused = await probe.connect().then(
      () => false,
      (e: { code?: string }) => e.code?.startsWith('28') ?? false,
    );
    await probe.end().catch(() => undefined);
    if (!refused) ctx.skip();
    const { err, logger } = await boot(wrong);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toMatch(/: password authentication failed for user "[^"]+"; gave up after 1 attempt \(not retried/);
    expect((err as Error).message).not.toContain('definitely-wrong-pw');
    expect(logger.warnings).toEqual([]);
  });

  it('a server that comes up during the retries: the boot succeeds after the logged attempts', async () => {
    const proxy = new TcpProxy(real.hostname, Number(real.port || 5432));
    await proxy.start();
    proxy.refuse();
    const logger = new CapturingLogger();
    const url = urlWith((u) => ((u.hostname = '127.0.0.1'), (u.port = String(proxy.port))));
    const schema = scope.fresh();
    const app = createQueueApp({ schema, connection: { connectionString: url }, queues: ['q'], workers: false, bootRetry: { attempts: 20, delayMs: 100, maxDelayMs: 200 } }, [], [], logger);
    try {
      await waitFor('a retry logged', () => logger.warnings.some((w) => w.includes('attempt 2 of 20')));
      proxy.accept();
      const ready = await app;
      expect(await ready.get(QueueAdmin).stats()).toHaveProperty('q');
      await ready.close();
    } finally {
      await app.then((a) => a.close()).catch(() => undefined);
      await proxy.stop();
    }
    expect(logger.warnings.every((w) => /^database unavailable at boot \(.+\): attempt \d+ of 20, retrying in (100|200) ms$/.test(w))).toBe(true);
  });

  it('bootRetry is validated before anything connects, with "did you mean"', async () => {
    const e1 = await rejectionOf(createQueueApp({ schema: scope.fresh(), queues: ['q'], bootRetry: { attemps: 3 } as never }));
    expect(e1).toBeInstanceOf(InvalidQueueOptionsError);
    expect((e1 as Error).message).toBe('QueueModule option "bootRetry.attemps" is not a known option; did you mean "attempts"?');
    const e2 = await rejectionOf(createQueueApp({ schema: scope.fresh(), queues: ['q'], bootRetry: { attempts: 0 } }));
    expect((e2 as Error).message).toBe('QueueModule option "bootRetry.attempts" must be an integer from 1 to 600000, got 0');
    const e3 = await rejectionOf(createQueueApp({ schema: scope.fresh(), queues: ['q'], bootRetry: 'yes' as never }));
    expect((e3 as Error).message).toBe('QueueModule option "bootRetry" must be false or { attempts?, delayMs?, maxDelayMs? }');
  });
});
