import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, Process, Processor, QueueAdmin, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { deferred, waitFor } from '../helpers/wait.js';

let gate = deferred();
let started = deferred<Job>();
const signals: AbortSignal[] = [];

@Processor('default')
@Injectable()
class Slow {
  @Process('slow')
  async slow(job: Job) {
    signals.push(job.signal);
    started.resolve(job);
    await gate.promise;
    return 'finished';
  }

  @Process('stuck')
  async stuck(job: Job) {
    signals.push(job.signal);
    started.resolve(job);
    await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
    return 'aborted';
  }
}

function resourceCounts(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

describe('consumer: lifecycle', () => {
  const { pool, fresh, dispose } = schemaScope();
  afterAll(dispose);

  it('shutdown waits for an in-flight handler and acks it', async () => {
    gate = deferred();
    started = deferred();
    const schema = fresh();
    const app = await createQueueApp({ schema, shutdownGraceMs: 10_000 }, [Slow]);
    const id = await app.get<QueueSink>(getSinkToken('default')).push('slow', {});
    await started.promise;
    const closing = app.close();
    // Closing does not finish while the handler runs; release it and the close completes.
    let closed = false;
    void closing.then(() => (closed = true));
    await waitFor('fetchers stopped', async () => {
      const r = await pool.query(`SELECT status FROM ${schema}.jobs WHERE id = $1`, [id]);
      return r.rows[0].status === 'running';
    });
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    const row = (await pool.query(`SELECT status, result, attempts FROM ${schema}.jobs WHERE id = $1`, [id])).rows[0];
    expect(row).toEqual({ status: 'done', result: 'finished', attempts: 1 });
    const workers = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.workers`);
    expect(workers.rows[0].n).toBe(0);
  });

  it('after the grace period, aborts job.signal and returns the job to pending with its attempt undone', async () => {
    started = deferred();
    const schema = fresh();
    const app = await createQueueApp({ schema, shutdownGraceMs: 200 }, [Slow]);
    const id = await app.get<QueueSink>(getSinkToken('default')).push('stuck', {});
    const job = await started.promise;
    await app.close();
    expect(job.signal.aborted).toBe(true);
    const row = (await pool.query(`SELECT status, attempts, locked_by FROM ${schema}.jobs WHERE id = $1`, [id])).rows[0];
    expect(row).toEqual({ status: 'pending', attempts: 0, locked_by: null });
  });

  it('app.close() leaves no timer, client or socket of ours open', async () => {
    gate = deferred();
    gate.resolve();
    const schema = fresh();
    await pool.query('SELECT 1'); // warm the assertion pool before the baseline
    const baseline = resourceCounts();
    const app = await createQueueApp({ schema, heartbeatIntervalMs: 50, orphanTimeoutMs: 1000, pollIntervalMs: 50 }, [Slow]);
    const admin = app.get(QueueAdmin);
    const id = await app.get<QueueSink>(getSinkToken('default')).push('slow', {});
    await waitFor('done', async () => (await admin.getJob(id))?.status === 'done');
    await app.close();
    await waitFor(
      'resources back to baseline',
      () => {
        const now = resourceCounts();
        return [...now].every(([k, n]) => n <= (baseline.get(k) ?? 0)) ? true : (console.log(now, baseline), false);
      },
      5000,
      50,
    );
  });

  it('workers: false makes a producer-only app: no LISTEN connection, no claims, no heartbeat', async () => {
    const schema = fresh();
    const app = await createQueueApp({ schema, workers: false, connection: { connectionString: (await import('../helpers/db.js')).databaseUrl(), application_name: `prod_${schema}` } }, [Slow]);
    const id = await app.get<QueueSink>(getSinkToken('default')).push('slow', {});
    const listeners = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'nestjs-pg-queue:listen' AND query LIKE $1`, [`%${schema}%`]);
    expect(listeners.rows[0].n).toBe(0);
    // Several poll intervals pass (observed through another push round trip), and the job stays pending.
    await app.get<QueueSink>(getSinkToken('default')).push('slow', {}, { delayMs: 0 });
    const workers = await pool.query(`SELECT count(*)::int AS n FROM ${schema}.workers`);
    expect(workers.rows[0].n).toBe(0);
    const row = (await pool.query(`SELECT status FROM ${schema}.jobs WHERE id = $1`, [id])).rows[0];
    expect(row.status).toBe('pending');
    await app.close();
  });
});
