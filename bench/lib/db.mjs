// The bench's Postgres: DATABASE_URL when set, else an embedded Postgres 17 in a temp folder.
import pg from 'pg';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';

/** The same for every system: durability off, so the bench measures the queues, not the disk. */
export const PG_SETTINGS = ['max_connections=300', 'shared_buffers=256MB', 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];

/** The durable pass (bench/run.mjs): the same server settings with fsync, synchronous_commit and full_page_writes on. */
export const PG_SETTINGS_DURABLE = ['max_connections=300', 'shared_buffers=256MB', 'fsync=on', 'synchronous_commit=on', 'full_page_writes=on'];

/**
 * The durable pass's server: a second embedded Postgres with PG_SETTINGS_DURABLE, or null with
 * DATABASE_URL set (that server is as configured; bench/run.mjs then skips the pass or, with
 * --durable-url=<url>, runs it on the server given there).
 */
export async function startDurablePostgres(log, url) {
  if (url) return { url, embedded: false, flags: 'the server at --durable-url, as configured', stop: async () => undefined };
  if (process.env.DATABASE_URL) return null;
  log('starting a second embedded Postgres for the durable pass (fsync, synchronous_commit, full_page_writes on)');
  const server = await startEmbeddedPostgres({ prefix: 'nestjs-pg-queue-bench-durable-', flags: PG_SETTINGS_DURABLE });
  log(`durable embedded Postgres on port ${server.port} (${server.dataDir})`);
  return { url: server.url, embedded: true, flags: PG_SETTINGS_DURABLE.join(', '), stop: () => server.dispose() };
}

/** Starts the server (or uses DATABASE_URL); resolves to { url, embedded, flags, stop() }. */
export async function startPostgres(log) {
  if (process.env.DATABASE_URL) {
    return { url: process.env.DATABASE_URL, embedded: false, flags: 'the server at DATABASE_URL, as configured', stop: async () => undefined };
  }
  log('starting embedded Postgres');
  const server = await startEmbeddedPostgres({ prefix: 'nestjs-pg-queue-bench-', flags: PG_SETTINGS });
  log(`embedded Postgres on port ${server.port} (${server.dataDir})`);
  return { url: server.url, embedded: true, flags: PG_SETTINGS.join(', '), stop: () => server.dispose() };
}

export function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs `statements` one by one on a connection of its own to `url`; resolves to the last one's result. */
export async function queryOnce(url, ...statements) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    let result;
    for (const text of statements) result = await c.query(text);
    return result;
  } finally {
    await c.end();
  }
}

/** Creates a fresh database and returns its URL. */
export async function createDatabase(adminUrl, name) {
  await queryOnce(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`, `CREATE DATABASE "${name}" TEMPLATE template0`);
  return withDatabase(adminUrl, name);
}

export async function dropDatabase(adminUrl, name) {
  await queryOnce(adminUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}

export async function serverVersion(url) {
  return (await queryOnce(url, 'SHOW server_version')).rows[0].server_version;
}

/** ANALYZE of the whole database at `url`: every table's statistics (`bench/run.mjs`, PROBE_ANALYZE). */
export async function analyzeDatabase(url) {
  await queryOnce(url, 'ANALYZE');
}
