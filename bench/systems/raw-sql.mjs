// The raw-SQL ceiling: a minimal loop written with `pg` alone on this project's schema and
// indexes. A claimer takes up to `batch` due jobs with FOR UPDATE SKIP LOCKED, runs them at
// once, and completes them with one UPDATE; it waits on LISTEN when the queue is empty.
import pg from 'pg';
import { Migrator } from '../../dist/index.js';
import { seedFinishedOurs } from '../lib/our-schema.mjs';

const SCHEMA = 'pgqueue';
const QUEUE = 'bench';

// The claim picks due jobs with FOR UPDATE SKIP LOCKED and marks them running. The chosen ids go to
// the UPDATE as an array (`id = ANY(ARRAY(...))`), as this project's claim does, not as a join on the
// subquery: the join is often planned as a hash join over the table and drained batches of 500 at about
// 0.7 of the rate (`node bench/probe-claim.mjs batch` runs both forms; they share PICK and SET_RUNNING).
const PICK = `SELECT id FROM ${SCHEMA}.jobs WHERE queue = $2 AND status IN ('pending', 'retrying') AND run_at <= now()
      ORDER BY priority DESC, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED`;
const SET_RUNNING = `UPDATE ${SCHEMA}.jobs j SET status = 'running', attempts = j.attempts + 1, locked_at = now(), locked_by = $1`;
/** The raw loop's claim and completion; bench/micro.mjs runs the same statements. */
export const CLAIM = `${SET_RUNNING}
WHERE j.id = ANY(ARRAY(${PICK}))
RETURNING j.id, j.payload`;
/** The form the raw loop used before: a join on the subquery (kept for the comparison in probe-claim). */
export const CLAIM_AS_JOIN = `${SET_RUNNING}
FROM (${PICK}) c
WHERE j.id = c.id RETURNING j.id, j.payload`;
export const COMPLETE = `UPDATE ${SCHEMA}.jobs SET status = 'done', done_at = now(), locked_at = NULL WHERE id = ANY($1::text[])`;
const INSERT_ONE = `INSERT INTO ${SCHEMA}.jobs (id, queue, name, payload) VALUES ($1, $2, 'noop', $3)`;
const INSERT_MANY = `INSERT INTO ${SCHEMA}.jobs (id, queue, name, payload) SELECT t.id, $1, 'noop', t.p FROM unnest($2::text[], $3::jsonb[]) t(id, p)`;

let seq = 0;
const prefix = `${Date.now().toString(36).padStart(10, '0')}${process.pid.toString(36).padStart(6, '0')}`;
const nextId = () => `${prefix}${(seq++).toString(36).padStart(10, '0')}`.toUpperCase();

export async function open(ctx) {
  const claimers = ctx.variant?.claimers ?? 1;
  const batch = Math.floor(ctx.concurrency / claimers);
  const pool = new pg.Pool({ connectionString: ctx.dbUrl, max: 10 });
  pool.on('error', () => undefined);
  let stopping = false;
  let listener = null;
  const loops = [];
  const wakers = new Set();
  let notified = false; // a NOTIFY that came while no claimer slept: claim again at once
  const wakeAll = () => {
    notified = true;
    for (const w of [...wakers]) w();
  };
  const sleep = () =>
    new Promise((resolve) => {
      if (notified) {
        notified = false;
        resolve();
        return;
      }
      const done = () => {
        clearTimeout(t);
        wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, 1000);
      wakers.add(done);
    });

  async function claimLoop(id, handler) {
    const client = await pool.connect();
    try {
      while (!stopping) {
        notified = false;
        const r = await client.query({ name: 'claim', text: CLAIM, values: [id, QUEUE, batch] });
        if (r.rows.length === 0) {
          await sleep();
          continue;
        }
        await Promise.all(r.rows.map((row) => handler(row.payload)));
        await client.query({ name: 'complete', text: COMPLETE, values: [r.rows.map((row) => row.id)] });
      }
    } finally {
      client.release();
    }
  }

  return {
    async setup() {
      await new Migrator(pool, SCHEMA).migrate();
    },
    async seed(n) {
      for (let i = 0; i < n; i += 5000) {
        const ids = [];
        const ps = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) {
          ids.push(nextId());
          ps.push(JSON.stringify({ i: j }));
        }
        await pool.query(INSERT_MANY, [QUEUE, ids, ps]);
      }
    },
    seedFinished(n) {
      return seedFinishedOurs(ctx.dbUrl, SCHEMA, QUEUE, n);
    },
    async startWorker(handler) {
      listener = new pg.Client({ connectionString: ctx.dbUrl });
      await listener.connect();
      listener.on('notification', wakeAll);
      await listener.query(`LISTEN "${SCHEMA}.jobs"`);
      for (let i = 0; i < claimers; i++) loops.push(claimLoop(`raw-${process.pid}-${i}`, handler));
    },
    async startProducer() {},
    push(data) {
      return pool.query({ name: 'insert_one', text: INSERT_ONE, values: [nextId(), QUEUE, JSON.stringify(data)] });
    },
    pushBatch(datas) {
      return pool.query({ name: 'insert_many', text: INSERT_MANY, values: [QUEUE, datas.map(() => nextId()), datas.map((d) => JSON.stringify(d))] });
    },
    async close() {
      stopping = true;
      wakeAll();
      await Promise.allSettled(loops);
      if (listener) await listener.end().catch(() => undefined);
      await pool.end();
    },
    settings: `pg only, ${claimers} claimer(s) x batch ${batch}, prepared statements, LISTEN wake-up, one UPDATE per batch`,
  };
}
