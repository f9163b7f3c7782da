import type { INestApplication } from '@nestjs/common';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Migration } from '../../src/db/migrator.js';
import { loadMigrations, Migrator, QueueAdmin, SchemaNotReadyError } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { rejectionOf, sinkOf } from './support.js';

const pool = testPool(8);
const schemas: string[] = [];
function freshSchema(): string {
  const s = uniqueSchema('mig');
  schemas.push(s);
  return s;
}

afterAll(async () => {
  for (const s of schemas) await dropSchema(pool, s);
  await pool.end();
});

async function recorded(schema: string): Promise<Array<{ version: number; name: string; checksum: string; applied_at: Date }>> {
  const r = await pool.query(`SELECT version, name, checksum, applied_at FROM ${pg.escapeIdentifier(schema)}.migrations ORDER BY version`);
  return r.rows;
}

describe('migrations', () => {
  const files = loadMigrations();

  it('are applied at bootstrap, recorded in <schema>.migrations, and not applied again', async () => {
    expect(files.length).toBeGreaterThan(0);
    expect(files.map((f) => f.version)).toEqual(files.map((_, i) => i + 1));
    const schema = freshSchema();

    const app = await createQueueApp({ schema });
    const first = await recorded(schema);
    expect(first.map(({ version, name, checksum }) => ({ version, name, checksum }))).toEqual(
      files.map(({ version, name, checksum }) => ({ version, name, checksum })),
    );
    await app.close();

    const again = await createQueueApp({ schema });
    expect(await recorded(schema)).toEqual(first); // same rows, same applied_at: nothing re-applied
    expect(await new Migrator(pool, schema).migrate()).toEqual([]);
    await again.close();
  });

  it('applies numbered files in order, once each, and only the missing ones later', async () => {
    const schema = freshSchema();
    const m = (version: number, sql: string): Migration => ({ version, name: `${String(version).padStart(4, '0')}_m${version}.sql`, sql, checksum: `c${version}` });
    // Each file depends on the previous one: out-of-order application would fail.
    const m1 = m(1, 'CREATE TABLE {{schema}}.t (a int)');
    const m2 = m(2, 'ALTER TABLE {{schema}}.t ADD COLUMN b int');
    const m3 = m(3, 'INSERT INTO {{schema}}.t (a, b) VALUES (1, 2)');
    expect(await new Migrator(pool, schema, [m1, m2, m3]).migrate()).toEqual([m1.name, m2.name, m3.name]);
    const m4 = m(4, 'INSERT INTO {{schema}}.t (a, b) SELECT a + 1, b + 1 FROM {{schema}}.t');
    expect(await new Migrator(pool, schema, [m1, m2, m3, m4]).migrate()).toEqual([m4.name]);
    expect(await new Migrator(pool, schema, [m1, m2, m3, m4]).migrate()).toEqual([]);

    const rows = await recorded(schema);
    expect(rows.map((r) => r.version)).toEqual([1, 2, 3, 4]);
    for (let i = 1; i < rows.length; i++) expect(rows[i].applied_at.getTime()).toBeGreaterThanOrEqual(rows[i - 1].applied_at.getTime());
    const t = await pool.query(`SELECT a, b FROM ${pg.escapeIdentifier(schema)}.t ORDER BY a`);
    expect(t.rows).toEqual([{ a: 1, b: 2 }, { a: 2, b: 3 }]); // m3 and m4 each ran exactly once
  });

  it('five apps booting at once on one fresh schema apply each file exactly once and all succeed', async () => {
    const schema = freshSchema();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => createQueueApp({ schema })));
    const apps = results.filter((r): r is PromiseFulfilledResult<INestApplication> => r.status === 'fulfilled').map((r) => r.value);
    try {
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      expect(apps).toHaveLength(5);
      const rows = await recorded(schema);
      expect(rows.map((r) => r.name)).toEqual(files.map((f) => f.name));
      // Every app works against the one schema.
      const ids = await Promise.all(apps.map((app, i) => sinkOf(app).push('boot', { i })));
      const admin = apps[0].get(QueueAdmin);
      for (const id of ids) expect((await admin.getJob(id))?.status).toBe('pending');
    } finally {
      await Promise.all(apps.map((a) => a.close()));
    }
  });

  it('migrate: false on an empty schema fails at bootstrap with SchemaNotReadyError saying how to fix it', async () => {
    const schema = freshSchema();
    const err = await rejectionOf(createQueueApp({ schema, migrate: false }));
    expect(err).toBeInstanceOf(SchemaNotReadyError);
    expect(err.code).toBe('SCHEMA_NOT_READY');
    expect(err.message).toContain(schema);
    expect(err.message).toMatch(/not installed/);
    expect(err.message).toMatch(/migrate: true/);
    expect(err.message).toMatch(/migrate --database-url/);
    // Nothing was created by the failed boot.
    const exists = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    expect(exists.rowCount).toBe(0);

    // A schema whose migrations table misses a file is "not current", naming the file.
    await pool.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
    await pool.query(
      `CREATE TABLE ${pg.escapeIdentifier(schema)}.migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const stale = await rejectionOf(createQueueApp({ schema, migrate: false }));
    expect(stale).toBeInstanceOf(SchemaNotReadyError);
    expect(stale.message).toContain('not current');
    expect(stale.message).toContain(files[0].name);
    expect(stale.message).toMatch(/migrate: true/);

    // Once migrated (by another process), the same options boot and push.
    await new Migrator(pool, schema).migrate();
    const app = await createQueueApp({ schema, migrate: false });
    try {
      const id = await sinkOf(app).push('after-migrate', { ok: true });
      expect((await app.get(QueueAdmin).getJob(id))?.data).toEqual({ ok: true });
    } finally {
      await app.close();
    }
  });

  it('creates the claim index, the unique idempotency index and the statement-level NOTIFY trigger', async () => {
    const schema = freshSchema();
    const app = await createQueueApp({ schema });
    try {
      const idx = await pool.query<{ indexname: string; indexdef: string }>(
        `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs'`,
        [schema],
      );
      const defs = new Map(idx.rows.map((r) => [r.indexname, r.indexdef]));
      const claim = defs.get('jobs_claim_idx');
      expect(claim).toBeDefined();
      expect(claim).toMatch(/\(queue, priority DESC, run_at, id\)/);
      expect(claim).toMatch(/WHERE .*status.*pending/);
      const unique = defs.get('jobs_queue_idempotency_key_idx');
      expect(unique).toMatch(/^CREATE UNIQUE INDEX/);
      expect(unique).toMatch(/\(queue, idempotency_key\)/);
      expect(unique).toMatch(/WHERE \(idempotency_key IS NOT NULL\)/);
      expect([...defs.values()].some((d) => /UNIQUE INDEX .* \(id\)/.test(d))).toBe(true); // primary key

      const trg = await pool.query<{ tgname: string; tgtype: number; tgenabled: string }>(
        `SELECT t.tgname, t.tgtype, t.tgenabled FROM pg_trigger t
           JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relname = 'jobs' AND NOT t.tgisinternal`,
        [schema],
      );
      expect(trg.rows).toHaveLength(1);
      const { tgtype, tgenabled } = trg.rows[0];
      expect(tgtype & 1).toBe(0); // FOR EACH STATEMENT (bit 0 set would mean ROW)
      expect(tgtype & 2).toBe(0); // AFTER (bit 1 set would mean BEFORE)
      expect(tgtype & 4).toBe(4); // INSERT
      expect(tgenabled).toBe('O');

      const workers = await pool.query(`SELECT to_regclass($1) AS t`, [`${pg.escapeIdentifier(schema)}.workers`]);
      expect(workers.rows[0].t).not.toBeNull();
    } finally {
      await app.close();
    }
  });
});
