import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { DataSource, EntitySchema } from 'typeorm';
import { expect } from 'vitest';
import { getSinkToken, InvalidJobError, QueueError, type QueueSink } from '../../src/index.js';
import { databaseUrl } from '../helpers/db.js';

/** The sink of `queue` in `app`. */
export function sinkOf(app: INestApplication, queue = 'default'): QueueSink {
  return app.get<QueueSink>(getSinkToken(queue));
}

/** Rows of `<schema>.jobs`, read outside the module under test. */
export async function countJobs(pool: pg.Pool, schema: string, queue?: string): Promise<number> {
  const s = pg.escapeIdentifier(schema);
  const r = queue === undefined
    ? await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.jobs`)
    : await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${s}.jobs WHERE queue = $1`, [queue]);
  return r.rows[0].n;
}

/** Runs `fn`, expects it to reject with InvalidJobError naming `field`, and returns the error. */
export async function expectInvalidJob(fn: () => Promise<unknown>, field: string): Promise<InvalidJobError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected InvalidJobError for ${field}`).toBeInstanceOf(InvalidJobError);
  const e = caught as InvalidJobError;
  expect(e).toBeInstanceOf(QueueError);
  expect(e.code).toBe('INVALID_JOB');
  expect(e.field).toBe(field);
  expect(e.message).toContain(field);
  return e;
}

/** Awaits `p` and returns what it rejected with (fails the test if it resolved). */
export async function rejectionOf(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** A dedicated LISTEN client on `<schema>.jobs` that records every payload it receives. */
export async function listenJobs(schema: string): Promise<{ payloads: Array<{ queue: string; ids: string[]; count: number }>; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: databaseUrl() });
  client.on('error', () => undefined);
  await client.connect();
  const payloads: Array<{ queue: string; ids: string[]; count: number }> = [];
  client.on('notification', (msg) => {
    if (msg.channel === `${schema}.jobs`) payloads.push(JSON.parse(msg.payload ?? 'null'));
  });
  await client.query(`LISTEN ${pg.escapeIdentifier(`${schema}.jobs`)}`);
  return { payloads, close: () => client.end() };
}

/**
 * A round trip that sends a NOTIFY on `<schema>.jobs` from another session and waits for it on
 * the listener: every notification committed before the marker has then been delivered (Postgres
 * delivers notifications in commit order), so "none arrived" is proven without a sleep.
 */
export async function flushNotifications(
  pool: pg.Pool,
  schema: string,
  listener: { payloads: Array<{ queue: string }> },
): Promise<void> {
  const marker = `__marker_${Math.random().toString(36).slice(2)}`;
  await pool.query(`SELECT pg_notify($1, json_build_object('queue', $2::text, 'ids', '[]'::json)::text)`, [`${schema}.jobs`, marker]);
  const deadline = Date.now() + 10_000;
  while (!listener.payloads.some((p) => p.queue === marker)) {
    if (Date.now() > deadline) throw new Error('marker notification never arrived');
    await new Promise((r) => setTimeout(r, 5));
  }
  const i = listener.payloads.findIndex((p) => p.queue === marker);
  listener.payloads.splice(i, 1);
}

/** The caller's business row in the transactional tests. */
export interface Account {
  id: number;
  email: string;
}

/**
 * A TypeORM DataSource on the test database with one small entity table, `<schema>.accounts`,
 * created here (the schema must exist: boot the queue app first).
 */
export async function createDataSource(schema: string): Promise<DataSource> {
  const AccountEntity = new EntitySchema<Account>({
    name: 'Account',
    tableName: 'accounts',
    schema,
    columns: { id: { type: Number, primary: true, generated: 'increment' }, email: { type: String } },
  });
  const ds = new DataSource({ type: 'postgres', url: databaseUrl(), schema, entities: [AccountEntity], poolSize: 4, logging: false });
  await ds.initialize();
  await ds.query(`CREATE TABLE IF NOT EXISTS ${pg.escapeIdentifier(schema)}.accounts (id serial PRIMARY KEY, email text NOT NULL UNIQUE)`);
  return ds;
}

/** Emails in `<schema>.accounts`, sorted. */
export async function accountEmails(pool: pg.Pool, schema: string): Promise<string[]> {
  const r = await pool.query<{ email: string }>(`SELECT email FROM ${pg.escapeIdentifier(schema)}.accounts ORDER BY email`);
  return r.rows.map((row) => row.email);
}

/** Counts INSERT statements on `<schema>.jobs` server-side (a statement-level trigger fires once per statement, however many rows). */
export async function countInsertStatements(pool: pg.Pool, schema: string): Promise<() => Promise<number>> {
  const s = pg.escapeIdentifier(schema);
  await pool.query(`CREATE TABLE ${s}.insert_statements (n int NOT NULL)`);
  await pool.query(`INSERT INTO ${s}.insert_statements VALUES (0)`);
  await pool.query(`CREATE FUNCTION ${s}.count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE ${s}.insert_statements SET n = n + 1; RETURN NULL; END $$`);
  await pool.query(`CREATE TRIGGER count_insert AFTER INSERT ON ${s}.jobs FOR EACH STATEMENT EXECUTE FUNCTION ${s}.count_insert()`);
  return async () => (await pool.query<{ n: number }>(`SELECT n FROM ${s}.insert_statements`)).rows[0].n;
}
