import { afterAll, describe, expect, it } from 'vitest';
import { PlanSizeClass } from '../../src/db/plan-size-class.js';
import { quoteIdent } from '../../src/db/identifier.js';
import { Migrator } from '../../src/db/migrator.js';
import { schemaScope } from '../helpers/db.js';

/**
 * A table without statistics gets its claim planned as a sort of every due job (see
 * PlanSizeClass): the table is analyzed each time it has doubled, from 1 MB.
 */
describe('the jobs table is analyzed as it grows', () => {
  const { pool, fresh, dispose } = schemaScope('stats');
  afterAll(dispose);

  const reltuples = async (table: string): Promise<number> =>
    Number((await pool.query(`SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, [table])).rows[0].reltuples);

  /** A fresh jobs table autovacuum leaves alone (it must not analyze behind the test's back), with 100 finished rows of ~0.5 kB. */
  async function freshTable(): Promise<{ schema: string; table: string; insert: (n: number, from: number) => Promise<unknown> }> {
    const schema = fresh();
    const table = `${quoteIdent(schema)}.jobs`;
    await new Migrator(pool, schema).migrate();
    await pool.query(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    const insert = (n: number, from: number) =>
      pool.query(
        `INSERT INTO ${table} (id, queue, name, payload, status) SELECT 'j' || lpad((g + $2)::text, 12, '0'), 'q', 'job', jsonb_build_object('pad', repeat('x', 400)), 'done' FROM generate_series(1, $1) g`,
        [n, from],
      );
    await insert(100, 0);
    return { schema, table, insert };
  }

  it('not while small nor at start; once past 1 MB and twice the size it was first seen at; again only after another doubling', async () => {
    const { schema, table, insert } = await freshTable();
    const size = new PlanSizeClass(pool, table, 60_000);
    await size.start();
    try {
      // Never analyzed: -1 (PostgreSQL 14 and later) or 0 (13).
      expect(await reltuples(table)).toBeLessThanOrEqual(0);
      await insert(1000, 100); // about 0.5 MB: still small
      await size.refresh();
      expect(await reltuples(table)).toBeLessThanOrEqual(0);
      await insert(3000, 1100); // past 1 MB
      await size.refresh();
      expect(await reltuples(table)).toBe(4100);
      await insert(1000, 4100); // grown, but not doubled since
      await size.refresh();
      expect(await reltuples(table)).toBe(4100);
      await insert(5000, 5100); // doubled
      await size.refresh();
      expect(await reltuples(table)).toBe(10100);
      // Only the columns the claim, ack and rescue plans use.
      const analyzed = (await pool.query(`SELECT attname FROM pg_stats WHERE schemaname = $1 AND tablename = 'jobs'`, [schema])).rows.map((r) => r.attname);
      expect(analyzed).toEqual(expect.arrayContaining(['queue', 'status', 'name', 'priority', 'run_at', 'id']));
      expect(analyzed).not.toContain('payload');
    } finally {
      await size.stop();
    }
  });

  it('not again when another process analyzed it since it was half its size; again once it has doubled from that', async () => {
    const { table, insert } = await freshTable();
    const size = new PlanSizeClass(pool, table, 60_000);
    await size.start(); // first seen at 100 rows
    try {
      await insert(4000, 100); // past 1 MB and far past twice 100 rows...
      await pool.query(`ANALYZE ${table}`); // ...but another process analyzed it at this size
      expect(await reltuples(table)).toBe(4100);
      await insert(1000, 4100);
      await size.refresh();
      expect(await reltuples(table)).toBe(4100); // not analyzed again
      await insert(4000, 5100); // twice the size the other process analyzed
      await size.refresh();
      expect(await reltuples(table)).toBe(9100);
    } finally {
      await size.stop();
    }
  });
});
