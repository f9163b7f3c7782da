import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations, PreparedStatementsError, QueueError } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { pgbouncerWanted } from '../helpers/pgbouncer.js';
import { rejectionOf } from '../producer/support.js';
import { throughPooler, usePgBouncer } from './support.js';

describe.runIf(pgbouncerWanted)('booting through PgBouncer in transaction mode', () => {
  const pooler = usePgBouncer();
  const { pool, fresh, dispose } = schemaScope('pgbb');
  afterAll(dispose);

  it('twenty instances migrating an empty schema at once through the pooler: each file applied exactly once, no boot fails', async () => {
    const schema = fresh();
    const boots = await Promise.allSettled(
      Array.from({ length: 20 }, () => createQueueApp(throughPooler(pooler.url, schema, { workers: false, connection: { connectionString: pooler.url, max: 2 } }))),
    );
    const apps = boots.flatMap((b) => (b.status === 'fulfilled' ? [b.value] : []));
    try {
      expect(boots.filter((b) => b.status === 'rejected').map((b) => String((b as PromiseRejectedResult).reason))).toEqual([]);
      const applied = await pool.query(`SELECT version, name, checksum FROM ${schema}.migrations ORDER BY version`);
      expect(applied.rows).toEqual(loadMigrations().map((m) => ({ version: m.version, name: m.name, checksum: m.checksum })));
      const triggers = await pool.query(
        `SELECT count(*)::int AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND NOT t.tgisinternal`,
        [schema],
      );
      expect(triggers.rows[0].n).toBe(1);
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });

  it('preparedStatements left on through the pooler: bootstrap fails with an error that names the option, and nothing runs', async () => {
    const schema = fresh();
    const options = throughPooler(pooler.url, schema);
    delete options.preparedStatements;
    const err = await rejectionOf(createQueueApp(options));
    expect(err).toBeInstanceOf(PreparedStatementsError);
    expect(err).toBeInstanceOf(QueueError);
    expect(err.code).toBe('PREPARED_STATEMENTS_UNSUPPORTED');
    expect(err.message).toContain('preparedStatements: false');
    expect(err.message).toContain('does not exist');
    // No worker registered itself: bootstrap stopped before anything started.
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.workers`)).rows[0].n).toBe(0);
  });

  it('the same options with a direct connection boot: the check passes where prepared statements are kept', async () => {
    const schema = fresh();
    const options = throughPooler(pooler.url, schema);
    delete options.preparedStatements;
    delete options.connection;
    const app = await createQueueApp(options);
    await app.close();
  });
});
