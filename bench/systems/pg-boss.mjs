// pg-boss 10: one work() loop with batchSize = concurrency (the batch is run at once), polling at
// its minimum interval (0.5 s; pg-boss 10 has no LISTEN/NOTIFY pickup).
import PgBoss from 'pg-boss';
import pg from 'pg';

const QUEUE = 'bench';

export async function open(ctx) {
  const batchSize = ctx.variant?.batchSize ?? ctx.concurrency;
  const workers = Math.max(1, Math.floor(ctx.concurrency / batchSize));
  const boss = new PgBoss({ connectionString: ctx.dbUrl, max: 10, supervise: false, schedule: false, migrate: true });
  boss.on('error', () => undefined);
  let started = false;
  const start = async () => {
    if (!started) await boss.start();
    started = true;
  };
  return {
    async setup() {
      await start();
      await boss.createQueue(QUEUE);
    },
    async seed(n) {
      for (let i = 0; i < n; i += 5000) {
        const jobs = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) jobs.push({ name: QUEUE, data: { i: j } });
        await boss.insert(jobs);
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
      for (let w = 0; w < workers; w++) {
        await boss.work(QUEUE, { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
          await Promise.all(jobs.map((j) => handler(j.data)));
        });
      }
    },
    async startProducer() {
      await start();
    },
    push(data) {
      return boss.send(QUEUE, data);
    },
    pushBatch(datas) {
      return boss.insert(datas.map((data) => ({ name: QUEUE, data })));
    },
    async close() {
      if (started) await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    },
    settings: `${workers} work() loop(s) x batchSize ${batchSize}${batchSize > ctx.concurrency ? ` (up to ${batchSize} jobs in flight: NOT equal concurrency)` : ''}, pollingIntervalSeconds 0.5 (the minimum), pool max 10, supervise/schedule off; send / insert`,
  };
}
