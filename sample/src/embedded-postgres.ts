import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { freePort, initialiseDataDir, requestedMajor, startServer } from '../../scripts/embedded-postgres.mjs';
import { canEnter, postgresBinaries } from '../../scripts/postgres-binaries.mjs';

export interface EmbeddedServer {
  url: string;
  port: number;
  /** Where the data is (not the folder asked for when the server's user could not enter it). */
  dataDir: string;
  stop(): Promise<void>;
}

export class StartupError extends Error {}

export { freePort };

/**
 * As root the server runs as the `postgres` user, which cannot enter a project cloned into a
 * folder only root may enter (mode 0700, as /root is in many containers). The data then lives in
 * the temp folder, under a name made from the folder asked for, so it is found again next time.
 */
function reachableDataDir(dataDir: string, ids: { uid?: number; gid?: number }): string {
  const parent = dirname(resolve(dataDir));
  if (canEnter(parent, ids)) return dataDir;
  const moved = join(tmpdir(), `nestjs-pg-queue-sample-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 12)}`);
  console.log(`The postgres user cannot enter ${parent} (a folder only root may enter): keeping the data in ${moved} instead (SAMPLE_PGDATA picks another folder).`);
  return moved;
}

/**
 * Starts Postgres 17 (or PG_MAJOR) with its data in `dataDir` (initialised on first use, kept
 * across runs). The server runs in its own session, so a Ctrl-C in the terminal reaches only this
 * Node process, which drains its jobs before stopping the server.
 */
export async function startEmbeddedPostgres(wanted: string): Promise<EmbeddedServer> {
  let binaries: ReturnType<typeof postgresBinaries>;
  try {
    binaries = postgresBinaries(requestedMajor());
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
  const dataDir = reachableDataDir(wanted, binaries.ids);
  const versionFile = join(dataDir, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const major = readFileSync(versionFile, 'utf8').trim();
    if (major !== String(binaries.major)) {
      throw new StartupError(`${dataDir} holds a Postgres ${major} cluster, not ${binaries.major}: delete it, or set SAMPLE_PGDATA to another folder`);
    }
  } else {
    rmSync(dataDir, { recursive: true, force: true }); // a half-initialised folder from an interrupted run
    mkdirSync(dataDir, { recursive: true });
    try {
      await initialiseDataDir(dataDir, binaries);
    } catch (err) {
      throw new StartupError(`could not initialise embedded Postgres in ${dataDir}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  try {
    const server = await startServer(dataDir, { binaries });
    return { url: server.url, port: server.port, dataDir, stop: () => server.stop() };
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}
