import { afterAll, describe, expect, it } from 'vitest';
import { getSinkToken, QueueAdmin, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, schemaScope } from '../helpers/db.js';
import { cli } from './cli-run.js';

describe('CLI: the operator verbs', () => {
  const scope = schemaScope('clv');
  afterAll(() => scope.dispose());

  it('cancel, retry, promote, delete, list, pause and resume, as text and as --json', async () => {
    const schema = scope.fresh();
    const app = await createQueueApp({ schema, workers: false, queues: ['emails'] });
    const sink = app.get<QueueSink>(getSinkToken('emails'));
    const [a, b, c] = await sink.pushMany([
      { name: 'welcome', data: {}, options: { delayMs: 3_600_000, idempotencyKey: 'user-1' } },
      { name: 'welcome', data: {}, options: { delayMs: 3_600_000, idempotencyKey: 'user-2' } },
      { name: 'digest', data: {}, options: { delayMs: 3_600_000 } },
    ]);
    const base = ['--database-url', databaseUrl(), '--schema', schema];
    const run = async (...args: string[]) => {
      const r = await cli([...args, ...base]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const json = async (...args: string[]) => JSON.parse(await run(...args, '--json'));

    expect(await run('promote', a)).toBe(`${a}: promoted (status pending)`);
    expect(await json('cancel', b)).toEqual({ id: b, outcome: 'cancelled', status: 'cancelled' });
    expect(await run('cancel', b)).toBe(`${b}: already finished (status cancelled)`);
    expect(await run('cancel', '01JA00000000000000000000ZZ')).toBe('01JA00000000000000000000ZZ: not found');
    expect(await json('retry', b, '--reset-attempts')).toEqual({ id: b, outcome: 'retried', status: 'pending' });

    const listed = await json('list', '--queue', 'emails', '--key-prefix', 'user-', '--order', 'asc');
    expect(listed.jobs.map((j: { id: string }) => j.id)).toEqual([a, b]);
    expect(listed.next).toBeNull();
    const page = await run('list', '--queue', 'emails', '--page-size', '1');
    expect(page.split('\n')).toEqual([expect.stringMatching(new RegExp(`^${c}  emails  digest  pending  attempts 0  created `)), `more: --after ${c}`]);

    expect(await json('pause', 'emails', '--reason', 'SMTP relay down')).toMatchObject({ queue: 'emails', paused: true, reason: 'SMTP relay down' });
    expect(await app.get(QueueAdmin).isPaused('emails')).toBe(true);
    expect((await json('stats')).emails.paused).toBe(true);
    expect(await run('resume', 'emails')).toBe('queue "emails" resumed');
    expect(await run('resume', 'emails')).toBe('queue "emails" was not paused');

    expect(await run('cancel-many', '--queue', 'emails', '--status', 'pending,retrying')).toBe('cancelled 3 job(s)');
    expect(await json('retry-many', '--name', 'digest')).toEqual({ count: 1 });
    expect(await json('delete-many', '--all')).toEqual({ count: 3, skippedRunning: 0 });
    expect(await json('delete', c)).toEqual({ id: c, outcome: 'not_found', status: null });
    await app.close();
  });

  it('schedules, pause-schedule, resume-schedule, trigger-schedule', async () => {
    const schema = scope.fresh();
    const app = await createQueueApp({
      schema,
      workers: false,
      queues: ['reports'],
      schedules: [{ key: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin', queue: 'reports', name: 'build', data: { full: true } }],
    });
    const base = ['--database-url', databaseUrl(), '--schema', schema];
    const run = async (...args: string[]) => {
      const r = await cli([...args, ...base]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const list = JSON.parse(await run('schedules', '--json'));
    expect(list).toEqual([expect.objectContaining({ key: 'nightly', cron: '0 3 * * *', tz: 'Europe/Berlin', queue: 'reports', name: 'build', paused: false, data: { full: true } })]);
    expect(await run('schedules')).toMatch(/^nightly {2}0 3 \* \* \* {2}Europe\/Berlin {2}-> reports\/build {2}next \S+Z {2}last - {2}\(owner default\)$/);
    expect(await run('pause-schedule', 'nightly')).toMatch(/^schedule "nightly" paused, next slot /);
    expect(await run('resume-schedule', 'nightly')).toMatch(/^schedule "nightly" resumed, next slot /);
    expect(await run('resume-schedule', 'nightly')).toBe('schedule "nightly" not found or not paused');
    const trig = JSON.parse(await run('trigger-schedule', 'nightly', '--json'));
    expect(trig).toEqual({ key: 'nightly', jobId: expect.stringMatching(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/) });
    expect((await app.get(QueueAdmin).getJob(trig.jobId))).toMatchObject({ queue: 'reports', name: 'build', data: { full: true } });
    await app.close();
  });

  it('bad input: one line on stderr naming the problem, nothing changed', async () => {
    const schema = scope.fresh();
    const app = await createQueueApp({ schema, workers: false, queues: ['emails'] });
    const id = await app.get<QueueSink>(getSinkToken('emails')).push('welcome', {}, { delayMs: 60_000 });
    const base = ['--database-url', databaseUrl(), '--schema', schema];
    const cases: Array<[string[], number, string]> = [
      [['delete-many'], 1, 'nestjs-pg-queue delete-many: Invalid job: filter selects every job: give criteria (queue, name, status, …), or { all: true } to mean every job'],
      [['cancel-many', '--status', 'canceled'], 1, 'nestjs-pg-queue cancel-many: Invalid job: filter.status[0] must be one of pending, running, done, retrying, killed, cancelled, got "canceled"; did you mean "cancelled"?'],
      [['cancel', 'not-an-id'], 1, 'nestjs-pg-queue cancel: Invalid job: id must be a job id (a ULID in canonical upper-case form), got "not-an-id"'],
      [['cancel'], 2, 'nestjs-pg-queue: cancel needs a job id'],
      [['list', '--created-after', 'yesterday'], 2, 'nestjs-pg-queue: --created-after must be a date (ISO 8601, e.g. 2026-12-01T00:00:00Z)'],
      [['stats', '--queue', 'x'], 2, 'nestjs-pg-queue: --queue applies to the operator verbs only'],
    ];
    for (const [args, code, line] of cases) {
      const r = await cli([...args, ...base]);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.split('\n')[0]).toBe(line);
    }
    expect((await app.get(QueueAdmin).getJob(id))!.status).toBe('pending');
    await app.close();
  });
});
