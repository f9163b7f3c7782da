import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';

describe('the bootstrap check of prepared statements, on a shared pool', () => {
  const { fresh, dispose } = schemaScope('psc');
  afterAll(dispose);

  it('gives up (inconclusive) when the pool has no second connection to spare, and the app boots and works', async () => {
    const pool = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
    pool.on('error', () => undefined);
    const heldByTheApp = await pool.connect();
    let held = true;
    try {
      const app = await createQueueApp({ schema: fresh(), pool, workers: false, connection: undefined });
      const id = await app.get<QueueSink>(getSinkToken('default')).push('job', {});
      expect(id).toMatch(/^[0-9A-Z]{26}$/);
      await app.close();
      // Nothing of the check is left holding a connection: both are free again once we release ours.
      heldByTheApp.release();
      held = false;
      expect(pool.totalCount - pool.idleCount).toBe(0);
    } finally {
      if (held) heldByTheApp.release();
      await pool.end();
    }
  });
});
