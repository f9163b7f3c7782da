import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, NotifyBus, Process, Processor, QueueAdmin, type Job, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const done = new Set<string>();

@Processor('default')
@Injectable()
class Recorder {
  @Process('job')
  run(job: Job) {
    done.add(job.id);
  }
}

describe('consumer: LISTEN loss and polling', () => {
  const { pool, fresh, dispose } = schemaScope();
  afterAll(dispose);

  /** A worker app polling once a minute, its bus connected; then its LISTEN session is terminated. */
  async function appWithListenKilled(schema: string) {
    const app = await createQueueApp({ schema, pollIntervalMs: 60_000 }, [Recorder]);
    const bus = app.get(NotifyBus);
    const sink = app.get<QueueSink>(getSinkToken('default'));
    await waitFor('bus connected', () => bus.connected);
    const before = bus.generation;
    // This app's LISTEN session, as the bus knows it once a NOTIFY through the pool reached it (its
    // last statement is not always a LISTEN: the bus reads its backend's identity after them).
    const backend = await waitFor('the LISTEN backend known', () => bus.listener);
    const mine = await pool.query(`SELECT pid FROM pg_stat_activity WHERE application_name = 'nestjs-pg-queue:listen' AND pid = $1`, [backend.pid]);
    expect(mine.rowCount).toBe(1);
    await pool.query('SELECT pg_terminate_backend($1)', [backend.pid]);
    return { app, bus, sink, before };
  }

  it('LISTEN connection killed: generation bumps, jobs pushed during the gap still run', async () => {
    // A long poll interval, so that only the reconnect catch-up can pick the gap's jobs up quickly.
    const { app, bus, sink, before } = await appWithListenKilled(fresh());
    // Pushed while the bus is down or reconnecting: their NOTIFYs are lost.
    const gap = await Promise.all(Array.from({ length: 20 }, (_, i) => sink.push('job', { i })));
    await waitFor('generation bump', () => bus.generation > before);
    await waitFor('gap jobs run', () => gap.every((id) => done.has(id)), 10_000);
    // And NOTIFY works again after the reconnect.
    const after = await sink.push('job', { after: true });
    await waitFor('post-reconnect job run', () => done.has(after), 5_000);
    await app.close();
  });

  it('a delayed job pushed while LISTEN was down runs at its run_at after the reconnect, not at the next poll', async () => {
    const schema = fresh();
    const { app, bus, sink, before } = await appWithListenKilled(schema);
    await waitFor('the bus to see the loss', () => !bus.connected);
    // Its NOTIFY (and the delayMs hint in it) is lost; it is due well after the reconnect (about 0.5 s).
    const delayed = await sink.push('job', {}, { delayMs: 6000 });
    await waitFor('generation bump', () => bus.generation > before);
    const waiting = (await pool.query(`SELECT run_at > now() AS waiting FROM ${schema}.jobs WHERE id = $1`, [delayed])).rows[0];
    expect(waiting.waiting, 'precondition: the reconnect came before the job was due').toBe(true);
    // The poll is a minute away: only the timer the reconnect set can run it this soon.
    await waitFor('the delayed job to run', () => done.has(delayed), 20_000);
    // Its ack follows the handler's return: read the row once it is written.
    const row = await waitFor('its ack', async () => (await pool.query(`SELECT status, done_at >= run_at AS on_time FROM ${schema}.jobs WHERE id = $1 AND status = 'done'`, [delayed])).rows[0]);
    expect(row.on_time).toBe(true);
    await app.close();
  });

  it('with NOTIFY never delivered, polling alone runs every job', async () => {
    const schema = fresh();
    const app = await createQueueApp({ schema, pollIntervalMs: 100 }, [Recorder]);
    const admin = app.get(QueueAdmin);
    // Drop the trigger: no NOTIFY is ever sent for inserts.
    await pool.query(`DROP TRIGGER jobs_notify_inserted ON ${schema}.jobs`);
    const sink = app.get<QueueSink>(getSinkToken('default'));
    const ids = await sink.pushMany(Array.from({ length: 50 }, (_, i) => ({ name: 'job', data: { i } })));
    await waitFor('all polled jobs done', async () => (await admin.stats()).default.done === 50, 10_000);
    expect(ids.every((id) => done.has(id))).toBe(true);
    await app.close();
  });
});
