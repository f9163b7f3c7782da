import pg from 'pg';
import { DataSource, EntitySchema } from 'typeorm';
import { afterAll, beforeAll } from 'vitest';
import type { QueueModuleOptions } from '../../src/index.js';
import { databaseUrl } from '../helpers/db.js';
import { startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';

/**
 * A PgBouncer in transaction mode in front of the test server for the file's tests (started in
 * beforeAll, stopped in afterAll). Read `.url` inside tests.
 */
export function usePgBouncer(poolSize = 20, options: { resetAfterEachTransaction?: boolean } = {}): { readonly url: string; readonly bouncer: PgBouncer } {
  let bouncer: PgBouncer | null = null;
  beforeAll(async () => {
    bouncer = await startPgBouncer(databaseUrl(), { poolSize, ...options });
  });
  afterAll(async () => {
    await bouncer?.stop();
  });
  return {
    get url() {
      if (!bouncer) throw new Error('PgBouncer is not started');
      return bouncer.url;
    },
    get bouncer() {
      if (!bouncer) throw new Error('PgBouncer is not started');
      return bouncer;
    },
  };
}

/** Module options for a queue whose pool goes through the pooler and whose LISTEN goes direct. */
export function throughPooler(url: string, schema: string, extra: Partial<QueueModuleOptions> = {}): Partial<QueueModuleOptions> & { schema: string } {
  return {
    schema,
    connection: { connectionString: url, max: 5 },
    listenConnection: { connectionString: databaseUrl() },
    preparedStatements: false,
    ...extra,
  };
}

export interface Account {
  id: number;
  email: string;
}

/** A TypeORM DataSource through `url` with `<schema>.accounts` (the schema must exist). */
export async function pooledDataSource(url: string, schema: string): Promise<DataSource> {
  const AccountEntity = new EntitySchema<Account>({
    name: 'Account',
    tableName: 'accounts',
    schema,
    columns: { id: { type: Number, primary: true, generated: 'increment' }, email: { type: String } },
  });
  const ds = new DataSource({ type: 'postgres', url, schema, entities: [AccountEntity], poolSize: 4, logging: false });
  await ds.initialize();
  await ds.query(`CREATE TABLE IF NOT EXISTS ${pg.escapeIdentifier(schema)}.accounts (id serial PRIMARY KEY, email text NOT NULL UNIQUE)`);
  return ds;
}

export { CapturingLogger } from '../helpers/logger.js';
