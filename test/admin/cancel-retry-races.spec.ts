import { describe, expect, it } from 'vitest';
import { controlChannel } from '../../src/db/identifier.js';
import { releaseJobsParams, releaseJobsSql } from '../../src/db/sql/release-jobs.js';
import { deferred, waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';
import { failUntil, gates, opsApp, starts } from './support.js';

/**
 * A cancel and a retry racing what the worker does with the claim: a NOTIFY heard after the job
 * was retried and claimed again, a hand-back that lands after the verbs, a retry of a job that
 * never ran.
 */
describe('cancel and retry against the claim they were aimed at', () => {
  const t = opsApp('cxr', { queues: [{ name: 'ops', concurrency: 4 }, 'side'], pollIntervalMs: 50 });
  const row = async (id: string) => (await t.scope.pool.query(`SELECT status, attempts, max_attempts, locked_by FROM ${t.schema}.jobs WHERE id = $1`, [id])).rows[0];
  const startOf = (id: string, attempt: number) => starts.find((s) => s.id === id && s.attempt === attempt);

  it('a cancel heard late does not touch the next attempt, claimed after a retry while the cancelled handler still runs', async () => {
    const first = deferred<void>();
    gates.set('k', first);
    gates.set('m', deferred<void>());
    const id = await sinkOf(t.app, 'ops').push('work', { key: 'k' });
    const marker = await sinkOf(t.app, 'ops').push('work', { key: 'm' });
    await waitFor('attempt 1 and the marker running', () => startOf(id, 1) !== undefined && startOf(marker, 1) !== undefined);
    const attempt1 = startOf(id, 1)!.job;
    expect(await t.admin.cancel(id)).toMatchObject({ outcome: 'cancelled' });
    await waitFor('attempt 1 aborted', () => attempt1.signal.aborted);
    // Its handler ignores the signal and keeps its slot; the job, retried, runs as attempt 2 beside it.
    gates.set('k', deferred<void>());
    expect(await t.admin.retry(id)).toMatchObject({ outcome: 'retried' });
    await waitFor('attempt 2 running', () => startOf(id, 2) !== undefined);
    const attempt2 = startOf(id, 2)!.job;
    // The first cancel's NOTIFY again (as a slow listener would hear it), naming also the marker's
    // running attempt: once the marker's signal aborts, the message has been applied. (The marker's
    // row is not cancelled, so the poll-time check never aborts it: only this message does.)
    const replay = { type: 'cancel', ids: [id, marker], attempts: [1, 1] };
    await t.scope.pool.query('SELECT pg_notify($1, $2)', [controlChannel(t.schema), JSON.stringify(replay)]);
    await waitFor('the marker aborted', () => startOf(marker, 1)!.job.signal.aborted);
    expect(attempt2.signal.aborted).toBe(false);
    // Attempt 1 returns first: its slot frees, attempt 2 keeps running and is acked.
    first.resolve();
    gates.get('m')!.resolve();
    gates.get('k')!.resolve();
    await waitFor('attempt 2 done', async () => (await row(id)).status === 'done');
    expect(await row(id)).toMatchObject({ status: 'done', attempts: 2 });
    expect((await t.admin.getJob(id))!.result).toEqual({ attempt: 2 });
    const witness = await sinkOf(t.app, 'ops').push('work', {});
    await waitFor('the witness done', async () => (await row(witness)).status === 'done');
    expect(starts.filter((s) => s.id === id).map((s) => s.attempt)).toEqual([1, 2]);
    // The marker's outcome was dropped as a cancelled one's: its row is cancelled for real now.
    expect(await t.admin.cancel(marker)).toMatchObject({ outcome: 'cancelled' });
  });

  it('a job cancelled before it ran, then retried, keeps its handler allowance of attempts', async () => {
    const id = await sinkOf(t.app, 'ops').push('work', { key: 'flaky' }, { delayMs: 60_000 });
    failUntil.set('flaky', 2);
    const gate = deferred<void>();
    gates.set('flaky', gate);
    expect(await t.admin.cancel(id)).toMatchObject({ outcome: 'cancelled' });
    expect(await t.admin.retry(id)).toMatchObject({ outcome: 'retried' });
    // Not pinned to one more attempt: until the first ack the row has none, and the worker resolves
    // the handler's (the module default, 25). The gate holds attempt 1 before its ack.
    await waitFor('attempt 1 running', () => startOf(id, 1) !== undefined);
    expect(await row(id)).toMatchObject({ status: 'running', attempts: 1, max_attempts: null });
    expect(startOf(id, 1)!.job.maxAttempts).toBe(25);
    gate.resolve();
    await waitFor('done after two failures', async () => (await row(id)).status === 'done', 10_000);
    expect(await row(id)).toMatchObject({ attempts: 3, max_attempts: 25 });
  });

  it('a hand-back of an unstarted claim that lands after a cancel, a retry or both still undoes its attempt; another claim is left alone', async () => {
    // Rows of a queue no worker serves, as a claim by worker W left them, then moved on by the verbs.
    const make = async (status: string, attempts: number, lockedBy: string) =>
      (
        await t.scope.pool.query(
          `INSERT INTO ${t.schema}.jobs (id, queue, name, payload, status, attempts, locked_at, locked_by)
           VALUES ('01JE' || lpad((floor(random() * 1e12))::bigint::text, 22, '0'), 'nobody', 'work', '{}', $1, $2, now(), $3) RETURNING id`,
          [status, attempts, lockedBy],
        )
      ).rows[0].id as string;
    const cancelled = await make('running', 1, 'W');
    const retried = await make('running', 1, 'W');
    const retriedAndCancelled = await make('running', 1, 'W');
    const plain = await make('running', 1, 'W');
    const claimedAgain = await make('running', 2, 'W');
    const otherWorker = await make('running', 1, 'W2');
    const ran = await make('done', 1, 'W');
    await t.admin.cancel(cancelled);
    await t.admin.cancel(retried);
    await t.admin.retry(retried);
    await t.admin.cancel(retriedAndCancelled);
    await t.admin.retry(retriedAndCancelled);
    await t.admin.cancel(retriedAndCancelled);
    const all = [cancelled, retried, retriedAndCancelled, plain, claimedAgain, otherWorker, ran];
    await t.scope.pool.query(releaseJobsSql(t.schema), releaseJobsParams(all.map((id) => ({ id, attempt: 1, lockedBy: 'W' }))));
    expect(await row(cancelled)).toMatchObject({ status: 'cancelled', attempts: 0, locked_by: 'W' });
    expect(await row(retried)).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
    expect(await row(retriedAndCancelled)).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(await row(plain)).toMatchObject({ status: 'pending', attempts: 0, locked_by: null });
    expect(await row(claimedAgain)).toMatchObject({ status: 'running', attempts: 2, locked_by: 'W' });
    expect(await row(otherWorker)).toMatchObject({ status: 'running', attempts: 1, locked_by: 'W2' });
    expect(await row(ran)).toMatchObject({ status: 'done', attempts: 1 });
    // Given up once: a second hand-back of the same claims changes nothing more.
    await t.scope.pool.query(releaseJobsSql(t.schema), releaseJobsParams(all.map((id) => ({ id, attempt: 1, lockedBy: 'W' }))));
    expect((await row(cancelled)).attempts).toBe(0);
    expect((await row(plain)).attempts).toBe(0);
    await t.scope.pool.query(`DELETE FROM ${t.schema}.jobs WHERE id = ANY($1)`, [all]);
  });
});
