import { describe, expect, it } from 'vitest';
import { InvalidJobError, JobRunningError } from '../../src/index.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { rejectionOf, sinkOf } from '../producer/support.js';
import { failUntil, gates, opsApp, starts } from './support.js';

describe('QueueAdmin.retry / promote / delete / listJobs', () => {
  const t = opsApp('ops', { queues: [{ name: 'ops', concurrency: 4 }, 'side'], pollIntervalMs: 100 });
  const sink = () => sinkOf(t.app, 'ops');
  const statusOf = async (id: string) => (await t.admin.getJob(id))?.status;

  it('a killed job retried gets one more attempt and keeps its error until that attempt ends', async () => {
    failUntil.set('k1', 1);
    const id = await sink().push('work', { key: 'k1' }, { maxAttempts: 1 });
    await waitFor('killed', async () => (await statusOf(id)) === 'killed');
    // Paused, so the retried job waits: its lastError is still the killed attempt's.
    await t.admin.pause('ops');
    expect(await t.admin.retry(id)).toEqual({ id, outcome: 'retried', status: 'pending' });
    const waiting = (await t.admin.getJob(id))!;
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1, maxAttempts: 2 });
    expect(waiting.lastError).toMatch(/^Error: attempt 1 of k1 fails on purpose/);
    await t.admin.resume('ops');
    await waitFor('done on attempt 2', async () => (await statusOf(id)) === 'done');
    const done = (await t.admin.getJob(id))!;
    expect(done).toMatchObject({ attempts: 2, lastError: null, result: { attempt: 2 } });
    expect(done.errors.map((e) => e.attempt)).toEqual([1]);
    expect(await t.admin.retry(id)).toEqual({ id, outcome: 'not_retryable', status: 'done' });
  });

  it('resetAttempts starts again from attempt 1; a cancelled job can be retried; retryMany counts', async () => {
    failUntil.set('k2', 2);
    const id = await sink().push('work', { key: 'k2' }, { maxAttempts: 2 });
    await waitFor('killed', async () => (await statusOf(id)) === 'killed');
    failUntil.delete('k2');
    expect((await t.admin.retry(id, { resetAttempts: true })).outcome).toBe('retried');
    await waitFor('done', async () => (await statusOf(id)) === 'done');
    expect(starts.filter((s) => s.id === id).map((s) => s.attempt)).toEqual([1, 2, 1]);

    const cancelled = await sink().push('work', {}, { delayMs: 60_000 });
    await t.admin.cancel(cancelled);
    expect(await t.admin.retryMany({ status: ['cancelled', 'killed'], queue: 'ops' })).toEqual({ count: 1 });
    await waitFor('the cancelled job ran', async () => (await statusOf(cancelled)) === 'done');
    const err = await rejectionOf(t.admin.retry(id, { resetAttempts: 'yes' } as never));
    expect(err).toBeInstanceOf(InvalidJobError);
    expect(err.message).toBe('Invalid job: options.resetAttempts must be a boolean');
  });

  it('promote runs a delayed job now; a job already due is not_delayed', async () => {
    const id = await sink().push('work', {}, { delayMs: 3_600_000 });
    expect(await t.admin.promote(id)).toEqual({ id, outcome: 'promoted', status: 'pending' });
    await waitFor('the promoted job done', async () => (await statusOf(id)) === 'done');
    expect(await t.admin.promote(id)).toEqual({ id, outcome: 'not_delayed', status: 'done' });
  });

  it('delete refuses a running job with JobRunningError, deletes it once cancelled; deleteMany skips running jobs', async () => {
    gates.set('run', deferred<void>());
    const running = await sink().push('work', { key: 'run' });
    await waitFor('running', async () => (await statusOf(running)) === 'running');
    const err = await rejectionOf(t.admin.delete(running));
    expect(err).toBeInstanceOf(JobRunningError);
    expect(err.message).toBe(`Job ${running} is running and cannot be deleted: cancel it first (a cancelled job can be deleted)`);
    const waiting = await sink().push('other', {}, { delayMs: 60_000 });
    expect(await t.admin.deleteMany({ queue: 'ops', status: ['pending', 'running'] })).toEqual({ count: 1, skippedRunning: 1 });
    expect(await t.admin.getJob(waiting)).toBeNull();
    await t.admin.cancel(running);
    expect(await t.admin.delete(running)).toEqual({ id: running, outcome: 'deleted', status: null });
    expect(await t.admin.delete(running)).toEqual({ id: running, outcome: 'not_found', status: null });
    gates.get('run')!.resolve();
    const refused = await rejectionOf(t.admin.deleteMany({}));
    expect(refused.message).toBe('Invalid job: filter selects every job: give criteria (queue, name, status, …), or { all: true } to mean every job');
  });

  it('listJobs filters and pages by id (keyset), newest first by default', async () => {
    const side = sinkOf(t.app, 'side');
    const ids = await side.pushMany(Array.from({ length: 7 }, (_, i) => ({ name: 'work', data: {}, options: { delayMs: 60_000, idempotencyKey: `order-${i}` } })));
    await side.push('work', {}, { delayMs: 60_000, idempotencyKey: 'invoice-1' });
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const r = await t.admin.listJobs({ queue: 'side', idempotencyKeyPrefix: 'order-' }, { limit: 3, after });
      seen.push(...r.jobs.map((j) => j.id));
      if (!r.next) break;
      after = r.next;
    }
    expect(seen).toEqual([...ids].reverse());
    const asc = await t.admin.listJobs({ queue: 'side', idempotencyKeyPrefix: 'order-' }, { order: 'asc', limit: 100 });
    expect(asc.jobs.map((j) => j.id)).toEqual(ids);
    expect(asc.next).toBeNull();
    expect((await t.admin.listJobs({ queue: 'side', status: 'done' })).jobs).toEqual([]);
    for (const [page, message] of [
      [{ limit: 0 }, 'Invalid job: page.limit must be an integer from 1 to 1000'],
      [{ after: 'x' }, 'Invalid job: page.after must be a job id (a ULID)'],
      [{ order: 'up' }, "Invalid job: page.order must be 'asc' or 'desc'"],
    ] as const) {
      expect((await rejectionOf(t.admin.listJobs({}, page as never))).message).toBe(message);
    }
    await t.admin.deleteMany({ queue: 'side' });
  });
});
