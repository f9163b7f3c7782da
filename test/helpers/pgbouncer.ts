import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/embedded-postgres.mjs';
import { serverIds } from '../../scripts/postgres-binaries.mjs';

/** Debian's package installs it here; PATH may not include /usr/sbin for a non-root user. */
function pgbouncerBinary(): string | null {
  for (const candidate of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) if (existsSync(candidate)) return candidate;
  const r = spawnSync('sh', ['-c', 'command -v pgbouncer'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/**
 * Whether the PgBouncer tests run: always in CI (where a missing pgbouncer must fail them, not
 * skip them: .ci/run installs it), elsewhere only when it is installed.
 */
export const pgbouncerWanted = Boolean(process.env.CI) || pgbouncerBinary() !== null;

export interface PgBouncer {
  /** A URL through the pooler to the target's database, as the target's user. */
  url: string;
  port: number;
  /** PgBouncer's log so far (for a failing test's message). */
  log(): string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}: ${log().trim().split('\n').slice(-3).join(' / ')}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`pgbouncer did not listen on ${port} within ${timeoutMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts Debian's PgBouncer (1.18: no protocol-level prepared statements) on a free loopback
 * port in transaction mode, in front of the server `targetUrl` points at. As root it runs as the
 * `postgres` user (PgBouncer refuses root). `poolSize` is the server connections per
 * database/user pair.
 */
/**
 * `resetAfterEachTransaction`: every server connection runs DISCARD ALL when a client's transaction
 * ends (server_reset_query_always), as some deployments configure it: a LISTEN made through the
 * pooler is then undone at once, so NOTIFYs can never reach it (deterministically, not by luck of
 * which server connection a later statement lands on).
 */
export async function startPgBouncer(
  targetUrl: string,
  { poolSize = 20, resetAfterEachTransaction = false }: { poolSize?: number; resetAfterEachTransaction?: boolean } = {},
): Promise<PgBouncer> {
  const binary = pgbouncerBinary();
  if (!binary) throw new Error('pgbouncer is not installed: apt-get install -y pgbouncer');
  const target = new URL(targetUrl);
  const database = decodeURIComponent(target.pathname.slice(1)) || 'postgres';
  const user = decodeURIComponent(target.username) || 'postgres';
  const password = decodeURIComponent(target.password);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-pg-queue-pgbouncer-'));
  const logFile = join(dir, 'pgbouncer.log');
  const server = [`host=${target.hostname}`, `port=${target.port || 5432}`, `dbname=${database}`, `user=${user}`, password ? `password=${password}` : '']
    .filter(Boolean)
    .join(' ');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `${database} = ${server}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // Clients are not authenticated (loopback, a throwaway pooler); the server login is the target's.
      'auth_type = any',
      'pool_mode = transaction',
      `default_pool_size = ${poolSize}`,
      ...(resetAfterEachTransaction ? ['server_reset_query = DISCARD ALL', 'server_reset_query_always = 1'] : []),
      'max_client_conn = 2000',
      'ignore_startup_parameters = extra_float_digits,options,statement_timeout',
      `logfile = ${logFile}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(logFile, '');
  const ids = serverIds();
  if (ids.uid !== undefined) for (const p of [dir, logFile, join(dir, 'pgbouncer.ini')]) chownSync(p, ids.uid, ids.gid!);
  const child = spawn(binary, [join(dir, 'pgbouncer.ini')], { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8') + stderr;
    } catch {
      return stderr;
    }
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT'); // immediate shutdown
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, log);
  } catch (err) {
    await stop();
    throw err;
  }
  const auth = `${encodeURIComponent(user)}${password ? `:${encodeURIComponent(password)}` : ''}@`;
  return { url: `postgres://${auth}127.0.0.1:${port}/${encodeURIComponent(database)}`, port, log, stop };
}
