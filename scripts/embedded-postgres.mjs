// One way to start a throwaway embedded PostgreSQL of any installed major (PG_MAJOR, default 17)
// for the tests, the reliability restart scenario, the sample and the bench, with the settings
// this kind of machine needs (as root the server runs as `postgres`; no en_US.UTF-8 locale: C.UTF-8).
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canWrite, postgresBinaries, requestedMajor } from './postgres-binaries.mjs';

export { requestedMajor };

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Runs a binary to completion as the server's user; rejects with the last lines of its output. */
function run(file, args, ids, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
    let out = '';
    const keep = (chunk) => (out = (out + chunk.toString('utf8')).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) => reject(new Error(`${what}: ${err.message}`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited with ${code}: ${out.trim().split('\n').slice(-3).join(' / ')}`))));
  });
}

/**
 * Creates a cluster in `dataDir` (which must not exist or be empty), owned by the server's user,
 * with the superuser postgres/postgres.
 */
export async function initialiseDataDir(dataDir, binaries = postgresBinaries()) {
  const { ids } = binaries;
  const pwDir = mkdtempSync(join(tmpdir(), 'nestjs-pg-queue-pw-'));
  const pwFile = join(pwDir, 'pw');
  writeFileSync(pwFile, 'postgres\n');
  try {
    if (ids.uid !== undefined) {
      chownSync(pwDir, ids.uid, ids.gid);
      chownSync(pwFile, ids.uid, ids.gid);
      if (existsSync(dataDir)) chownSync(dataDir, ids.uid, ids.gid);
    }
    await run(
      binaries.initdb,
      [`--pgdata=${dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwFile}`, '--encoding=UTF8', '--lc-messages=C', '--locale=C.UTF-8'],
      ids,
      `initdb (Postgres ${binaries.version}) in ${dataDir}`,
    );
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

/**
 * Starts the server on `dataDir` and resolves once it accepts connections. The server runs in
 * its own session (`detached`), so a Ctrl-C in a terminal reaches only the Node process, which
 * stops the server itself. Resolves to { port, url, process, stop() }.
 */
export async function startServer(dataDir, { port, flags = [], onLog = () => undefined, binaries = postgresBinaries() } = {}) {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      // a stale pid file: Postgres removes it itself on start
    }
    if (alive) throw new Error(`a Postgres from an earlier run still uses ${dataDir} (pid ${pid}); stop it with "kill ${pid}"`);
  }
  port ??= await freePort();
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...flags.flatMap((f) => ['-c', f])];
  const child = spawn(binaries.postgres, args, { ...binaries.ids, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
  let log = '';
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      const text = chunk.toString('utf8');
      onLog(text);
      log = (log + text).slice(-4000);
      if (log.includes('database system is ready to accept connections')) resolve();
    });
    child.once('error', (err) => reject(new Error(`could not start Postgres ${binaries.version}: ${err.message}`)));
    child.once('exit', () => {
      const fatal = log.split('\n').find((l) => l.includes('FATAL')) ?? log.trim().split('\n').pop();
      reject(new Error(`Postgres ${binaries.version} exited during startup: ${fatal ?? 'no output'}`));
    });
  });
  child.removeAllListeners('exit');
  const exited = new Promise((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGINT');
  process.once('exit', killOnExit); // never leave the server behind, whatever path exits Node
  let stopping;
  return {
    port,
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    process: child,
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

/**
 * Initialises and starts a server in a new temp folder named after `prefix`.
 * `flags` are postgres `-c` settings; `major` defaults to PG_MAJOR or 17. Resolves to
 * { url, port, dataDir, version, major, server: { start(), stop() }, dispose() }: `server` stops
 * and restarts it on the same port and data, `dispose` stops it and removes the folder.
 */
export async function startEmbeddedPostgres({ prefix = 'nestjs-pg-queue-', flags = [], major, onLog } = {}) {
  const binaries = postgresBinaries(major ?? requestedMajor());
  if (!canWrite(tmpdir(), binaries.ids)) {
    throw new Error(`the postgres user cannot write to the temp folder ${tmpdir()}: set TMPDIR to a folder every user can enter (e.g. /tmp)`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  await initialiseDataDir(dataDir, binaries);
  let running = await startServer(dataDir, { flags, onLog, binaries });
  const port = running.port;
  return {
    url: running.url,
    port,
    dataDir,
    version: binaries.version,
    major: binaries.major,
    server: {
      async start() {
        running = await startServer(dataDir, { port, flags, onLog, binaries });
      },
      stop: () => running.stop(),
    },
    async dispose() {
      await running.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
