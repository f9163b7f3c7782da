import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NotifyBus } from '../../src/index.js';
import { databaseUrl, testPool } from '../helpers/db.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { deferred, waitFor } from '../helpers/wait.js';

const pool = testPool();
const buses: NotifyBus[] = [];

function newBus(extra: Partial<ConstructorParameters<typeof NotifyBus>[0]> = {}, url = databaseUrl()) {
  const appName = `bus_${randomBytes(4).toString('hex')}`;
  const bus = new NotifyBus({ connection: { connectionString: url, application_name: appName }, minBackoffMs: 50, maxBackoffMs: 400, ...extra });
  buses.push(bus);
  return { bus, appName };
}

const sessions = async (appName: string) =>
  Number((await pool.query(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, [appName])).rows[0].count);

const channel = () => `ch_${randomBytes(4).toString('hex')}`;

describe('NotifyBus', () => {
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.stop()));
  });
  afterAll(() => pool.end());

  it('fans a NOTIFY out to every subscriber; a throwing or rejecting listener does not affect the others', async () => {
    const { bus } = newBus();
    const ch = channel();
    const got = deferred<string>();
    bus.subscribe(ch, () => {
      throw new Error('bad listener');
    });
    bus.subscribe(ch, async () => {
      throw new Error('bad async listener');
    });
    bus.subscribe(ch, (payload) => got.resolve(payload));
    await waitFor('connected', () => bus.connected);
    await pool.query('SELECT pg_notify($1, $2)', [ch, 'hello']);
    expect(await got.promise).toBe('hello');
    // And through the bus's own notify().
    const again = deferred<string>();
    bus.subscribe(ch, (p) => p === 'again' && again.resolve(p));
    await waitFor('listen again', async () => {
      await bus.notify(ch, 'again');
      return Promise.race([again.promise, new Promise((r) => setTimeout(() => r(false), 50))]);
    });
  });

  it('opens the connection on the first subscribe and closes it after the last unsubscribe, without racing a new subscribe', async () => {
    const { bus, appName } = newBus();
    expect(await sessions(appName)).toBe(0);
    const ch = channel();
    const off1 = bus.subscribe(ch, () => undefined);
    const off2 = bus.subscribe(channel(), () => undefined);
    await waitFor('connected', () => bus.connected);
    expect(await sessions(appName)).toBe(1);
    off1();
    off2();
    await waitFor('closed', async () => (await sessions(appName)) === 0);
    // Unsubscribe-then-subscribe back to back: the bus must end up connected and listening.
    const got = deferred<string>();
    const off3 = bus.subscribe(ch, () => undefined);
    off3();
    bus.subscribe(ch, (p) => got.resolve(p));
    await waitFor('reconnected', () => bus.connected);
    await waitFor('delivery', async () => {
      await pool.query('SELECT pg_notify($1, $2)', [ch, 'x']);
      return Promise.race([got.promise, new Promise((r) => setTimeout(() => r(false), 50))]);
    });
    expect(await sessions(appName)).toBe(1);
  });

  it('reconnects after pg_terminate_backend, re-LISTENs, bumps generation and tells onReconnect after LISTEN succeeded', async () => {
    const { bus, appName } = newBus();
    const ch = channel();
    const payloads: string[] = [];
    bus.subscribe(ch, (p) => payloads.push(p));
    const reconnects: number[] = [];
    bus.onReconnect((g) => {
      reconnects.push(g);
      // Catch-up runs after re-LISTEN: a NOTIFY sent from here must be delivered.
      void pool.query('SELECT pg_notify($1, $2)', [ch, `after-${g}`]);
    });
    await waitFor('connected', () => bus.connected);
    const g0 = bus.generation;
    await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName]);
    await waitFor('generation bumped', () => bus.generation === g0 + 1);
    expect(reconnects.at(-1)).toBe(g0 + 1);
    await waitFor('catch-up notify delivered', () => payloads.includes(`after-${g0 + 1}`));
    expect(await sessions(appName)).toBe(1);
  });

  it('survives a network blip and an unreachable server: no unhandled error, retries with backoff, then resumes', async () => {
    const target = Number(new URL(databaseUrl()).port || 5432);
    const proxy = new TcpProxy('127.0.0.1', target);
    const port = await proxy.start();
    const url = new URL(databaseUrl());
    url.host = `127.0.0.1:${port}`;
    const { bus } = newBus({}, url.toString());
    const ch = channel();
    const got: string[] = [];
    bus.subscribe(ch, (p) => got.push(p));
    await waitFor('connected', () => bus.connected);
    const g0 = bus.generation;
    proxy.cutAll(); // a blip: the socket dies under the client
    await waitFor('reconnected after blip', () => bus.connected && bus.generation === g0 + 1);
    proxy.refuse(); // now the server looks down: every new connection is dropped at once
    const acceptedBefore = proxy.accepted;
    proxy.cutAll();
    await waitFor('noticed', () => !bus.connected);
    await waitFor('several retries', () => proxy.accepted >= acceptedBefore + 3, 5000);
    expect(bus.connected).toBe(false);
    proxy.accept();
    await waitFor('reconnected after outage', () => bus.connected && bus.generation === g0 + 2, 5000);
    await waitFor('delivers again', async () => {
      await pool.query('SELECT pg_notify($1, $2)', [ch, 'back']);
      return got.includes('back');
    });
    await proxy.stop();
  });

  it('detects a half-open connection with its self-NOTIFY ping and reconnects', async () => {
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(databaseUrl()).port || 5432));
    await proxy.start();
    const url = new URL(databaseUrl());
    url.host = `127.0.0.1:${proxy.port}`;
    const { bus } = newBus({ pingIntervalMs: 100, pingTimeoutMs: 300 }, url.toString());
    const ch = channel();
    const got: string[] = [];
    bus.subscribe(ch, (p) => got.push(p));
    await waitFor('connected', () => bus.connected);
    const g0 = bus.generation;
    proxy.freeze(); // bytes stop flowing; no socket is closed
    await waitFor('half-open noticed', () => !bus.connected, 5000);
    proxy.thaw();
    await waitFor('reconnected', () => bus.connected && bus.generation > g0, 5000);
    await waitFor('delivers again', async () => {
      await pool.query('SELECT pg_notify($1, $2)', [ch, 'back']);
      return got.includes('back');
    });
    await proxy.stop();
  });

  it('stop() closes the client and its timers; subscribe afterwards is refused', async () => {
    const { bus, appName } = newBus({ pingIntervalMs: 50 });
    bus.subscribe(channel(), () => undefined);
    await waitFor('connected', () => bus.connected);
    await bus.stop();
    expect(bus.connected).toBe(false);
    await waitFor('session gone', async () => (await sessions(appName)) === 0);
    expect(() => bus.subscribe(channel(), () => undefined)).toThrow(/stopped/);
  });
});
