// BullMQ 6 (bench/peers), on Node 24: on Redis (ioredis), or with its PostgreSQL backend
// (withBackend(createPostgresBackend)). Default job options (completed jobs kept), Worker({ concurrency: N }).
import { createRequire } from 'node:module';

const QUEUE = 'bench';
const require = createRequire(import.meta.url);

export async function open(ctx) {
  const onPg = ctx.variant?.backend === 'pg';
  // The CJS build: its PostgreSQL backend loads `pg` with require() (the ESM build has no `require`).
  const bullmq = require('bullmq');
  let Queue;
  let Worker;
  let connection;
  let extra = {};
  if (onPg) {
    ({ Queue, Worker } = bullmq.withBackend(bullmq.createPostgresBackend));
    connection = { connectionString: ctx.dbUrl, max: 10, migrate: true };
  } else {
    ({ Queue, Worker } = bullmq);
    const u = new URL(ctx.redisUrl);
    connection = { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
    extra = { prefix: ctx.redisPrefix };
  }
  let queue = null;
  let worker = null;
  const getQueue = async () => {
    if (!queue) {
      queue = new Queue(QUEUE, { connection, ...extra });
      await queue.waitUntilReady();
    }
    return queue;
  };
  const addMany = async (datas) => {
    await (await getQueue()).addBulk(datas.map((data) => ({ name: 'noop', data })));
  };
  return {
    async setup() {
      await getQueue();
    },
    async seed(n) {
      for (let i = 0; i < n; i += 5000) {
        const datas = [];
        for (let j = i; j < Math.min(n, i + 5000); j++) datas.push({ i: j });
        await addMany(datas);
      }
    },
    seedFinished: null,
    async startWorker(handler) {
      worker = new Worker(QUEUE, async (job) => handler(job.data), { connection, concurrency: ctx.concurrency, ...extra });
      worker.on('error', () => undefined);
      await worker.waitUntilReady();
    },
    async startProducer() {
      await getQueue();
    },
    async push(data) {
      await (await getQueue()).add('noop', data);
    },
    pushBatch: addMany,
    async close() {
      if (worker) await worker.close();
      if (queue) await queue.close();
    },
    settings: onPg
      ? 'withBackend(createPostgresBackend), connection { max: 10, migrate: true }, Worker({ concurrency: N }), default job options; add / addBulk'
      : 'Worker({ concurrency: N }), default job options (completed jobs kept), ioredis; add / addBulk',
  };
}
