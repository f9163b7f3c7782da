// graphile-worker 0.17 (with localQueue batching and batched completions) or 0.16 (no localQueue).
import pg from 'pg';

export async function open(ctx) {
  const v016 = ctx.variant?.version === '0.16';
  const gw = v016 ? await import('graphile-worker-016') : await import('graphile-worker');
  const logger = new gw.Logger(() => () => undefined);
  const common = { connectionString: ctx.dbUrl, logger, maxPoolSize: 10 };
  let utils = null;
  let runner = null;
  const getUtils = async () => (utils ??= await gw.makeWorkerUtils(common));

  const addMany = async (datas) => {
    if (!v016) {
      await (await getUtils()).addJobs(datas.map((payload) => ({ identifier: 'noop', payload })));
      return;
    }
    // 0.16 has no addJobs() in JS; its documented batch API is the add_jobs() SQL function.
    await (await getUtils()).withPgClient((c) =>
      c.query(
        `SELECT 1 FROM graphile_worker.add_jobs(array(
           SELECT json_populate_record(null::graphile_worker.job_spec, json_build_object('identifier', 'noop', 'payload', p))
           FROM json_array_elements($1::json) p))`,
        [JSON.stringify(datas)],
      ),
    );
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
      const options = {
        ...common,
        concurrency: ctx.concurrency,
        noHandleSignals: true,
        pollInterval: 1000,
        taskList: { noop: async (payload) => handler(payload) },
      };
      if (!v016) {
        // https://worker.graphile.org/docs/performance#batching
        options.preset = { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } };
      }
      runner = await gw.run(options);
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
    settings: v016
      ? 'run({ concurrency: N, pollInterval: 1000, maxPoolSize: 10 }), no localQueue (0.16); addJob / add_jobs() SQL'
      : 'run({ concurrency: N, maxPoolSize: 10, preset.worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } }); addJob / addJobs',
  };
}
