// pg-boss 12 (bench/peers), on Node 24 (pg-boss 12 requires Node >= 22.12). Concurrency 32 as
// `localConcurrency` fetch loops x `batchSize` jobs, each batch run at once: pg-boss runs a batch's
// handler once per fetch and fetches again when the batch is settled. `burstWhenBatchFull` fetches again
// with no delay while fetches come back full (otherwise every loop waits out pollingIntervalSeconds,
// minimum 0.5 s, between fetches: the pg-boss 10 figure of 67 jobs/s); LISTEN/NOTIFY (`useListenNotify`
// with the queue's `notify: true`) wakes an idle worker when a job is sent.
// https://pgboss.io/api/workers#work-name-options-handler, https://pgboss.io/api/constructor (useListenNotify).
import { PgBoss } from 'pg-boss';
import pg from 'pg';

const QUEUE = 'bench';

export async function open(ctx) {
  const batchSize = ctx.variant?.batchSize ?? ctx.concurrency;
  const localConcurrency = ctx.variant?.loops ?? Math.max(1, Math.floor(ctx.concurrency / batchSize));
  const boss = new PgBoss({ connectionString: ctx.dbUrl, max: 10, supervise: false, schedule: false, migrate: true, useListenNotify: true });
  boss.on('error', () => undefined);
  boss.on('warning', () => undefined);
  let started = false;
  const start = async () => {
    if (!started) await boss.start();
    started = true;
  };
  const inFlight = localConcurrency * batchSize;
  return {
    async setup() {
      await start();
      await boss.createQueue(QUEUE, { notify: true });
    },
    async seed(n) {
      for (let i = 0; i < n; i += 5000) {
        const jobs = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) jobs.push({ data: { i: j } });
        await boss.insert(QUEUE, jobs);
      }
    },
    async seedFinished(n) {
      const c = new pg.Client({ connectionString: ctx.dbUrl });
      await c.connect();
      try {
        await c.query(
          `INSERT INTO pgboss.job (name, data, state, created_on, started_on, completed_on, keep_until)
           SELECT $1, jsonb_build_object('i', g), 'completed', now() - interval '1 day', now() - interval '1 day',
                  now() - interval '1 day', now() + interval '14 days'
           FROM generate_series(1, $2::int) g`,
          [QUEUE, n],
        );
        await c.query(`VACUUM ANALYZE pgboss.job`);
      } finally {
        await c.end();
      }
    },
    async startWorker(handler) {
      await start();
      await boss.work(QUEUE, { localConcurrency, batchSize, burstWhenBatchFull: batchSize > 1, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        await Promise.all(jobs.map((j) => handler(j.data)));
      });
    },
    async startProducer() {
      await start();
    },
    push(data) {
      return boss.send(QUEUE, data);
    },
    pushBatch(datas) {
      return boss.insert(
        QUEUE,
        datas.map((data) => ({ data })),
      );
    },
    async close() {
      if (started) await boss.stop({ graceful: true, timeout: 5000 });
    },
    settings: `work({ localConcurrency: ${localConcurrency}, batchSize: ${batchSize}, burstWhenBatchFull: ${batchSize > 1}, pollingIntervalSeconds: 0.5 (the minimum) })${inFlight > ctx.concurrency ? ` (up to ${inFlight} jobs in flight: NOT equal concurrency)` : ''}, useListenNotify with queue notify: true, pool max 10, supervise/schedule off; send / insert`,
  };
}
