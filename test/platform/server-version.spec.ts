import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueError, UnsupportedServerError } from '../../src/index.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../scripts/embedded-postgres.mjs';
import { createQueueApp } from '../helpers/app.js';
import { rejectionOf } from '../producer/support.js';

describe('a server older than the oldest supported major (PostgreSQL 12)', () => {
  let server: EmbeddedServer;
  beforeAll(async () => {
    server = await startEmbeddedPostgres({ major: 12, prefix: 'nestjs-pg-queue-pg12-' });
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  it('is refused at bootstrap with an error naming its version and the minimum, before anything is written', async () => {
    const err = await rejectionOf(createQueueApp({ schema: 'too_old', connection: { connectionString: server.url, max: 2 } }));
    expect(err).toBeInstanceOf(UnsupportedServerError);
    expect(err).toBeInstanceOf(QueueError);
    expect(err.code).toBe('UNSUPPORTED_SERVER');
    expect(err.serverVersion).toBe(server.version);
    expect(err.message).toBe(`PostgreSQL ${server.version} is not supported: nestjs-pg-queue needs PostgreSQL 13 or newer`);
    const client = new pg.Client(server.url);
    await client.connect();
    try {
      const schemas = await client.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'too_old'`);
      expect(schemas.rows[0].n).toBe(0);
    } finally {
      await client.end();
    }
  });
});
