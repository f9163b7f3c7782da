import { describe, expect, it } from 'vitest';
import { InvalidJobError, JobCancelledError } from '../../src/index.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { rejectionOf, sinkOf } from '../producer/support.js';
import { gates, opsApp, startedIds, starts } from './support.js';

const UNKNOWN_ID = '01JA00000000000000000000ZZ';

describe('QueueAdmin.cancel / cancelMany', () => {
  const t = opsApp('cxl', { queues: [{ name: 'ops', concurrency: 1 }, { name: 'side', concurrency: 1, prefetch: 3 }], pollIntervalMs: 100 });
  const sink = () => sinkOf(t.app, 'ops');
  const row = async (id: string) => (await t.scope.pool.query(`SELECT status, attempts, done_at, locked_by FROM ${t.schema}.jobs WHERE id = $1`, [id])).rows[0];

  it('a pending job becomes cancelled at once and never runs; cancelling it again says it is finished', async () => {
    const id = await sink().push('work', {}, { delayMs: 60_000 });
    expect(await t.admin.cancel(id)).toEqual({ id, outcome: 'cancelled', status: 'cancelled' });
    const r = await row(id);
    expect(r.status).toBe('cancelled');
    expect(r.done_at).toBeInstanceOf(Date);
    expect(await t.admin.cancel(id)).toEqual({ id, outcome: 'already_finished', status: 'cancelled' });
    // Due now, it still never runs: a later job of the queue runs, this one stays cancelled.
    expect(await t.admin.promote(id)).toEqual({ id, outcome: 'not_delayed', status: 'cancelled' });
    const later = await sink().push('work', {});
    await waitFor('the later job done', async () => (await row(later)).status === 'done');
    expect(startedIds()).not.toContain(id);
    expect((await t.admin.getJob(id))!.status).toBe('cancelled');
  });

  it('a running job: its signal aborts with JobCancelledError, its slot stays taken until the handler returns, and its result is not recorded', async () => {
    gates.set('held', deferred<void>());
    const id = await sink().push('work', { key: 'held' });
    await waitFor('the job running', () => startedIds().includes(id));
    const job = starts.find((s) => s.id === id)!.job;
    const aborted = new Promise<unknown>((resolve) => job.signal.addEventListener('abort', () => resolve(job.signal.reason)));
    expect(await t.admin.cancel(id)).toEqual({ id, outcome: 'cancelled', status: 'cancelled' });
    const reason = await aborted;
    expect(reason).toBeInstanceOf(JobCancelledError);
    expect((reason as Error).message).toBe(`Job ${id} was cancelled`);
    // The handler ignores the signal: the queue's one slot stays taken, the next job waits.
    const next = await sink().push('work', {});
    await waitFor('the next job pending while the slot is taken', async () => (await row(next)).status === 'pending');
    expect(startedIds()).not.toContain(next);
    gates.get('held')!.resolve();
    await waitFor('the next job done once the handler returned', async () => (await row(next)).status === 'done');
    const r = await row(id);
    expect(r.status).toBe('cancelled');
    expect(r.attempts).toBe(1);
    expect((await t.admin.getJob(id))!.result).toBeNull();
  });

  it('a job claimed and held behind a busy slot is dropped unstarted, its attempt undone; the others run', async () => {
    gates.set('busy', deferred<void>());
    const busy = await sinkOf(t.app, 'side').push('work', { key: 'busy' });
    await waitFor('the busy job running', () => startedIds().includes(busy));
    const held = await sinkOf(t.app, 'side').pushMany([1, 2, 3].map(() => ({ name: 'work', data: {} })));
    // Claimed (running, attempt 1) while the one slot is taken: held by the worker, not started.
    await waitFor('the three held', async () => {
      const { rows } = await t.scope.pool.query(`SELECT count(*)::int AS n FROM ${t.schema}.jobs WHERE id = ANY($1) AND status = 'running' AND attempts = 1`, [held]);
      return rows[0].n === 3;
    });
    expect(startedIds().filter((id) => held.includes(id))).toEqual([]);
    expect(await t.admin.cancel(held[1])).toEqual({ id: held[1], outcome: 'cancelled', status: 'cancelled' });
    await waitFor('its attempt undone', async () => (await row(held[1])).attempts === 0);
    gates.get('busy')!.resolve();
    await waitFor('the other two done', async () => (await row(held[0])).status === 'done' && (await row(held[2])).status === 'done');
    const witness = await sinkOf(t.app, 'side').push('work', {});
    await waitFor('the witness done', async () => (await row(witness)).status === 'done');
    expect(startedIds()).not.toContain(held[1]);
    expect(await row(held[1])).toMatchObject({ status: 'cancelled', attempts: 0 });
  });

  it('a finished job is left as it is; an unknown id is not found; a malformed id is refused naming the field', async () => {
    const id = await sink().push('work', {});
    await waitFor('done', async () => (await row(id)).status === 'done');
    expect(await t.admin.cancel(id)).toEqual({ id, outcome: 'already_finished', status: 'done' });
    expect(await t.admin.cancel(UNKNOWN_ID)).toEqual({ id: UNKNOWN_ID, outcome: 'not_found', status: null });
    const err = await rejectionOf(t.admin.cancel('nope'));
    expect(err).toBeInstanceOf(InvalidJobError);
    expect(err.message).toBe('Invalid job: id must be a job id (a ULID in canonical upper-case form), got "nope"');
  });

  it('cancelMany by queue and status cancels only what matches, in batches, and returns the count', async () => {
    const ids = await sinkOf(t.app, 'side').pushMany(Array.from({ length: 2500 }, () => ({ name: 'work', data: {}, options: { delayMs: 60_000 } })));
    const kept = await sinkOf(t.app, 'side').push('work', {}, { delayMs: 60_000, idempotencyKey: 'keep-me' });
    const other = await sink().push('work', {}, { delayMs: 60_000 });
    expect(await t.admin.cancelMany({ queue: 'side', status: 'pending', limit: 2500 })).toEqual({ count: 2500 });
    const { rows } = await t.scope.pool.query(`SELECT status, count(*)::int AS n FROM ${t.schema}.jobs WHERE id = ANY($1) GROUP BY status`, [ids]);
    expect(rows).toEqual([{ status: 'cancelled', n: 2500 }]);
    expect((await row(kept)).status).toBe('pending');
    expect((await row(other)).status).toBe('pending');
    expect(await t.admin.cancelMany({ idempotencyKeyPrefix: 'keep-' })).toEqual({ count: 1 });
    expect(await t.admin.cancelMany({ queue: 'side', status: 'pending' })).toEqual({ count: 0 });
    await t.admin.cancel(other);
  });

  it('bad filters are refused before anything is written, naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'Invalid job: filter selects every job: give criteria (queue, name, status, …), or { all: true } to mean every job'],
      [{ limit: 5 }, 'Invalid job: filter selects every job: give criteria (queue, name, status, …), or { all: true } to mean every job'],
      [{ status: 'canceled' }, 'Invalid job: filter.status must be one of pending, running, done, retrying, killed, cancelled, got "canceled"; did you mean "cancelled"?'],
      [{ status: ['pending', 'failed'] }, 'Invalid job: filter.status[1] must be one of pending, running, done, retrying, killed, cancelled, got "failed"'],
      [{ queu: 'ops' }, 'Invalid job: filter.queu is not a known filter; did you mean "queue"?'],
      [{ createdBefore: '2025-01-01' }, 'Invalid job: filter.createdBefore must be a valid Date'],
      [{ all: true, queue: 'ops' }, 'Invalid job: filter.all cannot be combined with other criteria: give all: true alone, or criteria without it'],
      [null, 'Invalid job: filter must be an object'],
    ];
    for (const [filter, message] of cases) {
      const err = await rejectionOf(t.admin.cancelMany(filter as never));
      expect(err, JSON.stringify(filter)).toBeInstanceOf(InvalidJobError);
      expect(err.message).toBe(message);
    }
  });

  it('racing completion: every job ends done or cancelled, as cancel said; one cancelled while waiting never starts', async () => {
    const ids = await sink().pushMany(Array.from({ length: 150 }, () => ({ name: 'work', data: { ms: 1 } })));
    const results = await Promise.all([...ids].reverse().map((id) => t.admin.cancel(id)));
    await waitFor('nothing running', async () => {
      const { rows } = await t.scope.pool.query(`SELECT count(*)::int AS n FROM ${t.schema}.jobs WHERE id = ANY($1) AND status IN ('pending', 'running')`, [ids]);
      return rows[0].n === 0;
    });
    // A job after them has run: every claim made before the cancels has reached its handler.
    const witness = await sink().push('work', {});
    await waitFor('the witness done', async () => (await row(witness)).status === 'done');
    const finalRows = async () => {
      const { rows } = await t.scope.pool.query(`SELECT id, status, attempts FROM ${t.schema}.jobs WHERE id = ANY($1)`, [ids]);
      return new Map(rows.map((r) => [r.id, r]));
    };
    const startsOf = (id: string) => starts.filter((s) => s.id === id).length;
    // A job claimed but held unstarted when its cancel came is dropped, and its attempt undone by a
    // statement of its own, which may land just after the witness.
    await waitFor('attempts count the attempts that ran', async () => {
      const final = await finalRows();
      return results.every((r) => final.get(r.id)!.attempts === startsOf(r.id));
    });
    const final = await finalRows();
    for (const r of results) {
      const f = final.get(r.id)!;
      expect(f.status, r.id).toBe(r.outcome === 'cancelled' ? 'cancelled' : 'done');
      // A job cancelled while waiting or while held (0) never started; one cancelled while
      // running (1) started once, before the cancel; none was claimed after it.
      expect(startsOf(r.id), r.id).toBe(f.attempts);
      expect(f.attempts).toBeLessThanOrEqual(1);
    }
    expect(results.filter((r) => r.outcome === 'cancelled').length).toBeGreaterThan(0);
  });
});
