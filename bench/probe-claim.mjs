// `node bench/probe-claim.mjs [batch] [rtt]` (after `npm run build`): two measurements behind the README's
// performance notes, on an embedded Postgres with the bench's settings.
// batch: the raw-SQL loop (claim + one completion per batch, as bench/systems/raw-sql.mjs) draining 20,000
//        jobs with batches of 32, 128 and 500, completing by UPDATE (our schema keeps rows) and by DELETE
//        (as graphile-worker does): how much of a small batch's cost is the statement's fixed cost; and the
//        claim written as a join on the subquery instead of `id = ANY(ARRAY(...))` (the raw loop's old form).
// rtt:   the round trip of a one-job claim in a tight loop (no NOTIFY, no worker): the raw loop's claim,
//        ours (claim-jobs.ts), and ours written as a join; runs interleaved, medians after a warm-up.
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { Migrator } from '../dist/index.js';
import { claimJobsSql } from '../dist/db/sql/claim-jobs.js';
import { PG_SETTINGS } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
import { CLAIM, CLAIM_AS_JOIN, COMPLETE } from './systems/raw-sql.mjs';

const modes = process.argv.slice(2).length ? process.argv.slice(2) : ['batch', 'rtt'];
const server = await startEmbeddedPostgres({ prefix: 'probe-claim-', flags: PG_SETTINGS });
const pool = new pg.Pool({ connectionString: server.url, max: 2 });
const S = 'pgqueue';
const fresh = async (pending) => {
  await pool.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`);
  await new Migrator(pool, S).migrate();
  await pool.query(`INSERT INTO ${S}.workers (worker_id, queue, lease_hash) VALUES ('w1', 'bench', 'x')`);
  if (pending > 0) {
    await pool.query(`INSERT INTO ${S}.jobs (id, queue, name, payload) SELECT '01' || lpad(g::text, 24, '0'), 'bench', 'noop', '{}' FROM generate_series(1, $1::int) g`, [pending]);
    await pool.query(`VACUUM ANALYZE ${S}.jobs`);
  }
};

try {
  if (modes.includes('batch')) {
    const DELETE = `DELETE FROM ${S}.jobs WHERE id = ANY($1::text[])`;
    for (const batch of [32, 128, 500]) {
      for (const [form, claim, how, done] of [['array', CLAIM, 'update', COMPLETE], ['array', CLAIM, 'delete', DELETE], ['join', CLAIM_AS_JOIN, 'update', COMPLETE]]) {
        await fresh(20_000);
        const c = await pool.connect();
        const t0 = performance.now();
        let n = 0;
        for (;;) {
          const r = await c.query({ name: `claim_${form}`, text: claim, values: ['w1', 'bench', batch] });
          if (r.rows.length === 0) break;
          await c.query({ name: `done_${how}`, text: done, values: [r.rows.map((x) => x.id)] });
          n += r.rows.length;
        }
        c.release();
        console.log(`batch ${String(batch).padStart(3)}, claim as ${form.padEnd(5)}, complete by ${how}: ${Math.round((n / (performance.now() - t0)) * 1000)} jobs/s`);
      }
    }
  }
  if (modes.includes('rtt')) {
    await fresh(0);
    const ours = claimJobsSql(`"${S}"`);
    const join = ours.replace(/WHERE j\.id = ANY\(ARRAY\(([\s\S]*)\)\)\nRETURNING/, 'FROM ($1) c WHERE j.id = c.id\nRETURNING');
    if (join === ours) throw new Error('claim-jobs.ts changed shape: update the join variant');
    const P = ['w1', 'bench', ['noop'], 32, 30_000];
    const variants = { raw: [CLAIM, ['w1', 'bench', 32]], ours: [ours, P], 'ours as a join': [join, P] };
    const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    const c = await pool.connect();
    let seq = 0;
    for (let i = 0; i < 1500; i++) {
      for (const [k, [text, values]] of Object.entries(variants)) {
        const id = '02' + String(++seq).padStart(24, '0');
        await c.query({ name: 'ins', text: `INSERT INTO ${S}.jobs (id, queue, name, payload) VALUES ($1, 'bench', 'noop', '{}')`, values: [id] });
        const t0 = performance.now();
        const r = await c.query({ name: k.replace(/\W/g, '_'), text, values });
        if (i >= 100) times[k].push(performance.now() - t0);
        if (r.rows.length !== 1) throw new Error(`${k} claimed ${r.rows.length} jobs`);
        await c.query({ name: 'fin', text: `UPDATE ${S}.jobs SET status = 'done' WHERE id = $1`, values: [id] });
      }
      if (i % 300 === 299) await c.query(`VACUUM ${S}.jobs`);
    }
    c.release();
    for (const [k, t] of Object.entries(times)) {
      t.sort((a, b) => a - b);
      console.log(`one-job claim round trip, ${k.padEnd(14)} p50 ${t[t.length >> 1].toFixed(3)} ms, p90 ${t[Math.floor(t.length * 0.9)].toFixed(3)} ms`);
    }
  }
} finally {
  await pool.end();
  await server.dispose();
}
