import { Injectable, Logger } from '@nestjs/common';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { getSinkToken, NotifyBus, Process, Processor, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { pgbouncerWanted } from '../helpers/pgbouncer.js';
import { waitFor } from '../helpers/wait.js';
import { CapturingLogger, throughPooler, usePgBouncer } from './support.js';

const ran = new Set<string>();

@Processor('default')
@Injectable()
class Recorder {
  @Process('job')
  run(job: Job) {
    ran.add(job.id);
  }
}

describe.runIf(pgbouncerWanted)('LISTEN behind a transaction pooler', () => {
  // A LISTEN through this pooler is undone after each transaction (DISCARD ALL): the delivery check
  // then fails for certain, where with a plain transaction pooler it fails only when the NOTIFY
  // does not happen to reach the server connection that LISTENed.
  const pooler = usePgBouncer(20, { resetAfterEachTransaction: true });
  const { fresh, dispose } = schemaScope('pgbl');
  afterAll(dispose);
  afterEach(() => Logger.overrideLogger(false));

  it('listenConnection direct, pool through PgBouncer: delivery is verified and a job is picked up by NOTIFY, not by the (60 s) poll', async () => {
    const schema = fresh();
    const worker = await createQueueApp(throughPooler(pooler.url, schema, { pollIntervalMs: 60_000 }), [Recorder]);
    const producer = await createQueueApp(throughPooler(pooler.url, schema, { workers: false }));
    try {
      const bus = worker.get(NotifyBus);
      await waitFor('the delivery check to pass', () => bus.delivery === 'verified');
      const id = await producer.get<QueueSink>(getSinkToken('default')).push('job', {});
      // Well inside one poll interval: only the NOTIFY can have woken the worker.
      await waitFor('the job to run on its NOTIFY', () => ran.has(id), 20_000);
    } finally {
      await producer.close();
      await worker.close();
    }
  });

  it('everything through PgBouncer: one warning that names listenConnection, and every job still runs by polling', async () => {
    const schema = fresh();
    const logger = new CapturingLogger();
    const options = throughPooler(pooler.url, schema, { pollIntervalMs: 200 });
    delete options.listenConnection;
    const worker = await createQueueApp(options, [Recorder], [], logger);
    // Nest's logger is global: the second app must not replace the first one's.
    const producer = await createQueueApp({ ...options, workers: false }, [], [], logger);
    try {
      const bus = worker.get(NotifyBus);
      await waitFor('the delivery check to fail', () => bus.delivery === 'failing', 20_000);
      const warnings = logger.warnings.filter((w) => w.includes('did not reach the LISTEN connection'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('listenConnection');
      expect(warnings[0]).toContain('polling');
      const ids = await producer.get<QueueSink>(getSinkToken('default')).pushMany(Array.from({ length: 30 }, (_, i) => ({ name: 'job', data: { i } })));
      await waitFor('every job to run by polling', () => ids.every((id) => ran.has(id)), 20_000);
    } finally {
      await producer.close();
      await worker.close();
    }
  });

  it('the check retries while it fails, warns once per outage, and says when delivery works again', async () => {
    const logger = new CapturingLogger();
    Logger.overrideLogger(logger);
    const pool = new pg.Pool({ connectionString: databaseUrl(), max: 2 });
    let probes = 0;
    let dropFirst = 3; // the first three probe NOTIFYs are "lost" (never sent), as through a pooler
    const bus = new NotifyBus({
      connection: { connectionString: databaseUrl() },
      notify: async (channel, payload) => {
        probes++;
        if (dropFirst-- > 0) return;
        await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
      },
      probeTimeoutMs: 150,
      probeRetryMs: 100,
    });
    try {
      bus.subscribe('pgbl_any', () => undefined);
      await waitFor('delivery verified after the lost probes', () => bus.delivery === 'verified', 15_000);
      expect(probes).toBe(4);
      expect(logger.warnings.filter((w) => w.includes('did not reach the LISTEN connection'))).toHaveLength(1);
      expect(logger.logs.filter((m) => m.includes('works again'))).toHaveLength(1);
    } finally {
      await bus.stop();
      await pool.end();
    }
  });
});
