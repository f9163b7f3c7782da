// graphile-worker 0.18 (bench/peers), on Node 24 (0.18 requires Node >= 22.18), with the batching
// settings of its performance page (https://worker.graphile.org/docs/performance, "Batching": the
// configuration of its published figures): localQueue { size: 500 }, completeJobBatchDelay: 0,
// failJobBatchDelay: 0. The pool stays at 10 connections, as for every system here.
import * as gw from 'graphile-worker';
import pg from 'pg';

export async function open(ctx) {
  const logger = new gw.Logger(() => () => undefined);
  const common = { connectionString: ctx.dbUrl, logger, maxPoolSize: 10 };
  const localQueueSize = ctx.variant?.localQueue ?? 500;
  let utils = null;
  let runner = null;
  const getUtils = async () => (utils ??= await gw.makeWorkerUtils(common));
  const addMany = async (datas) => {
    await (await getUtils()).addJobs(datas.map((payload) => ({ identifier: 'noop', payload })));
  };

  return {
    async setup() {
      await (await getUtils()).migrate();
    },
    async seed(n) {
      for (let i = 0; i < n; i += 5000) {
        const datas = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) datas.push({ i: j });
        await addMany(datas);
      }
    },
    async seedFinished(n) {
      // graphile-worker deletes completed jobs, so the rows that stay behind are the permanently
      // failed ones (attempts = max_attempts); those are what a busy table fills up with.
      const c = new pg.Client({ connectionString: ctx.dbUrl });
      await c.connect();
      try {
        await c.query(`INSERT INTO graphile_worker._private_tasks (identifier) VALUES ('noop') ON CONFLICT DO NOTHING`);
        await c.query(
          `INSERT INTO graphile_worker._private_jobs (task_id, payload, priority, run_at, attempts, max_attempts, last_error, created_at, updated_at)
           SELECT (SELECT id FROM graphile_worker._private_tasks WHERE identifier = 'noop'), jsonb_build_object('i', g), 0,
                  now() - interval '1 day', 25, 25, 'failed for good', now() - interval '1 day', now() - interval '1 day'
           FROM generate_series(1, $1::int) g`,
          [n],
        );
        await c.query(`VACUUM ANALYZE graphile_worker._private_jobs`);
      } finally {
        await c.end();
      }
    },
    async startWorker(handler) {
      runner = await gw.run({
        ...common,
        concurrency: ctx.concurrency,
        noHandleSignals: true,
        pollInterval: 1000,
        taskList: { noop: async (payload) => handler(payload) },
        preset: { worker: { localQueue: { size: localQueueSize }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      });
    },
    async startProducer() {
      await getUtils();
    },
    async push(data) {
      await (await getUtils()).addJob('noop', data);
    },
    pushBatch: addMany,
    async close() {
      if (runner) await runner.stop();
      if (utils) await utils.release();
    },
    settings: `run({ concurrency: N, maxPoolSize: 10, pollInterval: 1000, preset.worker: { localQueue: { size: ${localQueueSize} }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } }); addJob / addJobs`,
  };
}
