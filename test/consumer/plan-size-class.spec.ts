import { Injectable, Logger } from '@nestjs/common';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { getSinkToken, NotifyBus, Process, Processor, QueueOrchestrator, type QueueSink } from '../../src/index.js';
import { PlanSizeClass } from '../../src/db/plan-size-class.js';
import { createQueueApp } from '../helpers/app.js';
import { recordingPool, schemaScope } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

let done = 0;

@Processor('default')
@Injectable()
class Counter {
  @Process('job')
  run() {
    done++;
  }
}


describe('consumer: prepared statements follow the size of the jobs table', () => {
  const { pool, fresh, dispose } = schemaScope();
  afterAll(dispose);

  it('classes: one per doubling of the pages, from 0 (one page) to 10 (8 MB and more)', () => {
    expect(PlanSizeClass.of(0)).toBe(0);
    expect(PlanSizeClass.of(8192)).toBe(0);
    expect(PlanSizeClass.of(2 * 8192)).toBe(1);
    expect(PlanSizeClass.of(3 * 8192)).toBe(1);
    expect(PlanSizeClass.of(4 * 8192)).toBe(2);
    expect(PlanSizeClass.of(512 * 8192)).toBe(9);
    expect(PlanSizeClass.of(1024 * 8192)).toBe(10);
    expect(PlanSizeClass.of(1e12)).toBe(10);
  });

  it('a failed size read keeps the class, never throws, and warns once per outage', async () => {
    // A real connection failure: nothing listens on this port.
    const dead = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 2000 });
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const c = new PlanSizeClass(dead, '"nowhere".jobs', 60_000);
      await c.refresh();
      await c.refresh();
      expect(c.current).toBe(0);
      expect(c.name('pgq_claim_x')).toBe('pgq_claim_x_s0');
      expect(warn.mock.calls.filter((a) => String(a[0]).includes('could not read the size')).length).toBe(1);
    } finally {
      warn.mockRestore();
      await dead.end();
    }
  });

  it('claims and acks made on a small table use other prepared statements once it has grown (no generic plan outlives its size)', async () => {
    const schema = fresh();
    const { pool: appPool, names } = recordingPool();
    done = 0;
    // No poll in this test's time: a poll tick between the big batch's commit and the size read
    // would claim with the old statements. Pickup is by NOTIFY (and direct start).
    const app = await createQueueApp({ schema, pool: appPool, connection: undefined, pollIntervalMs: 60_000, queues: [{ name: 'default', concurrency: 4 }] }, [Counter]);
    try {
      // The batch's NOTIFY is what makes the worker read the new size: the bus must be listening.
      await waitFor('the LISTEN connection up', () => app.get(NotifyBus).connected);
      const sink = app.get<QueueSink>(getSinkToken('default'));
      for (let i = 0; i < 12; i++) await sink.push('job', { i });
      await waitFor('12 jobs done', () => done === 12, 10_000);
      // And acked: an ack still to be written would go out under the old name after the growth.
      await waitFor('12 jobs acked', async () => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs WHERE status = 'done'`)).rows[0].n === 12, 10_000);
      await waitFor('no ack in flight', () => (app.get(QueueOrchestrator) as unknown as { acker: { size: number } }).acker.size === 0);
      const small = names.filter((n) => n.startsWith('pgq_claim_') || n.startsWith('pgq_ack'));
      expect(small.length).toBeGreaterThan(0);
      const smallClasses = new Set(small.map((n) => Number(/_s(\d+)$/.exec(n)?.[1])));
      expect(Math.max(...smallClasses)).toBeLessThanOrEqual(2);

      // Grow the table past 8 MB with finished jobs (no trigger: these are history, not work).
      await pool.query(`SET session_replication_role = replica`);
      await pool.query(
        `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, done_at)
         SELECT '0000' || lpad(g::text, 22, '0'), 'default', 'job', jsonb_build_object('pad', repeat('x', 200)), 'done', 1, now()
         FROM generate_series(1, 40000) g`,
      );
      await pool.query(`SET session_replication_role = DEFAULT`);
      // A batch this large also makes the worker read the new size before it claims.
      names.length = 0;
      await sink.pushMany(Array.from({ length: 1000 }, (_, i) => ({ name: 'job', data: { i } })));
      await waitFor('1,012 jobs done', () => done === 1012, 20_000);
      const large = names.filter((n) => n.startsWith('pgq_claim_') || n.startsWith('pgq_ack'));
      // The batch's NOTIFY makes the worker read the new size before it claims: from the first
      // claim on, only the new class.
      expect(large.length).toBeGreaterThan(0);
      expect(large.filter((n) => !n.endsWith('_s10'))).toEqual([]);
    } finally {
      await app.close();
      await appPool.end();
    }
  });
});
