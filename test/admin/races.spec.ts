import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';
import { opsApp, starts } from './support.js';

describe('operator verbs racing the workers', () => {
  // The rescuer runs every poll (50 ms) and takes a running job whose worker is 200 ms silent.
  const t = opsApp('rac', { queues: [{ name: 'ops', concurrency: 8 }, 'side'], pollIntervalMs: 50, heartbeatIntervalMs: 100, orphanTimeoutMs: 200 });

  it('retry racing the rescuer: each orphan ends in one legal state, matching what retry said, and runs at most once more', async () => {
    // 100 orphans on their last attempt: running under a worker that is gone, so the rescuer kills them.
    const { rows } = await t.scope.pool.query(
      `INSERT INTO ${t.schema}.jobs (id, queue, name, payload, status, attempts, max_attempts, locked_at, locked_by)
       SELECT '01JC' || lpad(g::text, 22, '0'), 'ops', 'work', '{}', 'running', 1, 1, now() - interval '1 second', 'dead-worker'
       FROM generate_series(1, 100) AS g RETURNING id`,
    );
    const ids = rows.map((r) => r.id as string).sort();
    const results = await Promise.all(ids.map((id) => t.admin.retry(id)));
    await waitFor('every orphan settled', async () => {
      const r = await t.scope.pool.query(`SELECT count(*)::int AS n FROM ${t.schema}.jobs WHERE id = ANY($1) AND status NOT IN ('killed', 'done')`, [ids]);
      return r.rows[0].n === 0;
    });
    const final = new Map((await t.scope.pool.query(`SELECT id, status FROM ${t.schema}.jobs WHERE id = ANY($1)`, [ids])).rows.map((r) => [r.id, r.status]));
    for (const r of results) {
      // Retried before the rescue: not possible (it was running); after it: it ran again and is done.
      expect(['retried', 'not_retryable']).toContain(r.outcome);
      expect(final.get(r.id), r.id).toBe(r.outcome === 'retried' ? 'done' : 'killed');
      expect(starts.filter((s) => s.id === r.id).length).toBe(r.outcome === 'retried' ? 1 : 0);
    }
  });

});

describe('operator verbs racing claims, held jobs and hand-backs', () => {
  // No rescuer in the way (the default orphan timeout): a worker starved of CPU for 200 ms would
  // lose its running jobs to a rescue, which counts their attempt by design, and this test counts
  // attempts against handler starts.
  const t = opsApp('rcr', { queues: [{ name: 'ops', concurrency: 8 }, 'side'], pollIntervalMs: 50 });

  it('cancel, retry and cancel of each job at once: each ends done or cancelled, every claim counted, nothing claimed after the last cancel', async () => {
    // Several rounds: the verbs race claims, held jobs, hand-backs and NOTIFYs in many orders.
    for (let round = 0; round < 5; round++) {
      const pushed = await sinkOf(t.app, 'ops').pushMany(Array.from({ length: 100 }, () => ({ name: 'work', data: { ms: 1 } })));
      await Promise.all(pushed.flatMap((id) => [t.admin.cancel(id), t.admin.retry(id), t.admin.cancel(id)]));
      await waitFor('nothing left to run', async () => {
        const r = await t.scope.pool.query(`SELECT count(*)::int AS n FROM ${t.schema}.jobs WHERE id = ANY($1) AND status IN ('pending', 'running')`, [pushed]);
        return r.rows[0].n === 0;
      });
      const witness = await sinkOf(t.app, 'ops').push('work', {});
      await waitFor('the witness done', async () => (await t.admin.getJob(witness))?.status === 'done');
      const finalRows = async () => (await t.scope.pool.query(`SELECT id, status, attempts FROM ${t.schema}.jobs WHERE id = ANY($1)`, [pushed])).rows;
      const startsOf = (id: string) => starts.filter((s) => s.id === id).length;
      // A claim given up unstarted (held when cancelled, beyond what the worker could hold) has its
      // attempt undone by a statement of its own, which may land just after the witness.
      await waitFor('attempts count the attempts that ran', async () => (await finalRows()).every((r) => r.attempts === startsOf(r.id)));
      const rows = await finalRows();
      for (const r of rows) {
        expect(['done', 'cancelled']).toContain(r.status);
        // Every start was a claim (attempts counts them); a cancelled row is never claimed again.
        expect(startsOf(r.id), r.id).toBe(r.attempts);
      }
      // The job stays as the last verb left it: asking again changes nothing.
      for (const r of rows.filter((x) => x.status === 'cancelled').slice(0, 5)) {
        expect((await t.admin.cancel(r.id)).outcome).toBe('already_finished');
      }
    }
  });
});
