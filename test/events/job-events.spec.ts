import { Injectable, type INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnJobEvent, Process, Processor, ProcessorDefinitionError, QueueAdmin, QueueEvents, type Job, type JobEvent } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { CapturingLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';
import { rejectionOf, sinkOf } from '../producer/support.js';

const seen: JobEvent[] = [];
const sleeps = new Map<string, number>();
const onlyOf = (id: string) => seen.filter((e) => e.job.id === id).map((e) => e.event);

@Processor('ev')
@Injectable()
class EventfulProcessor {
  @Process('ok')
  ok() {
    return { fine: true };
  }

  @Process('flaky', { backoff: { type: 'fixed', delayMs: 20 } })
  flaky(job: Job) {
    if (job.attempt === 1) throw new Error('first attempt fails');
    return 'second time lucky';
  }

  @Process('doomed', { maxAttempts: 1 })
  doomed() {
    throw new Error('never works');
  }

  @Process('sleepy')
  sleepy(job: Job) {
    const runs = (sleeps.get(job.id) ?? 0) + 1;
    sleeps.set(job.id, runs);
    return runs === 1 ? job.snooze(10) : 'awake';
  }

  @Process('busy')
  busy(job: Job) {
    job.progress({ step: 1 });
    job.progress({ step: 2 });
    return 'done';
  }

  @OnJobEvent('completed')
  @OnJobEvent('snoozed')
  @OnJobEvent('progress')
  record(e: JobEvent) {
    seen.push(e);
  }
}

/** Any provider: events of every queue, or of one. */
@Injectable()
class Watcher {
  @OnJobEvent('killed', { queue: 'ev' })
  @OnJobEvent('rescued')
  @OnJobEvent('cancelled')
  record(e: JobEvent) {
    seen.push(e);
  }

  @OnJobEvent('completed', { queue: 'other' })
  otherQueueOnly(e: JobEvent) {
    seen.push({ ...e, event: 'completed', job: { ...e.job, name: 'WRONG-QUEUE' } });
  }

  @OnJobEvent('completed')
  throws(e: JobEvent) {
    if (e.job.name === 'ok') throw new Error('listener bug');
  }
}

describe('job events in the process', () => {
  const scope = schemaScope('evt');
  let app: INestApplication;
  let schema: string;
  const logger = new CapturingLogger();
  beforeAll(async () => {
    schema = scope.fresh();
    app = await createQueueApp(
      { schema, queues: ['ev', 'other'], pollIntervalMs: 100, heartbeatIntervalMs: 100, orphanTimeoutMs: 300 },
      [EventfulProcessor, Watcher],
      [],
      logger,
    );
    app.get(QueueEvents).on('failed', (e) => void seen.push(e));
    app.get(QueueEvents).on('retrying', (e) => void seen.push(e));
  });
  afterAll(async () => {
    await app.close();
    await scope.dispose();
  });
  const sink = () => sinkOf(app, 'ev');

  it('completed carries the result and duration; a listener that throws is logged with the job id and changes nothing', async () => {
    const id = await sink().push('ok', {});
    await waitFor('completed', () => onlyOf(id).includes('completed'));
    const e = seen.find((x) => x.job.id === id && x.event === 'completed')!;
    expect(e).toMatchObject({ job: { id, queue: 'ev', name: 'ok', attempt: 1 }, result: { fine: true } });
    expect(e.durationMs).toBeGreaterThanOrEqual(0);
    await waitFor('the listener failure logged', () => logger.errors.some((l) => l.includes(id)));
    expect(logger.errors.filter((l) => l.includes(id))).toEqual([
      `@OnJobEvent on Watcher.throws failed on "completed" of job ${id} (queue "ev"): listener bug`,
    ]);
    expect((await app.get(QueueAdmin).getJob(id))!.status).toBe('done');
    expect(seen.some((x) => x.job.name === 'WRONG-QUEUE')).toBe(false);
  });

  it('a failed attempt: failed then retrying (with the delay), then completed; the last one: failed then killed', async () => {
    const flaky = await sink().push('flaky', {});
    await waitFor('completed', () => onlyOf(flaky).includes('completed'));
    expect(onlyOf(flaky)).toEqual(['failed', 'retrying', 'completed']);
    const retrying = seen.find((x) => x.job.id === flaky && x.event === 'retrying')!;
    expect(retrying).toMatchObject({ job: { attempt: 1 }, delayMs: 20 });
    expect(retrying.error).toMatch(/^Error: first attempt fails/);
    const doomed = await sink().push('doomed', {});
    await waitFor('killed', () => onlyOf(doomed).includes('killed'));
    expect(onlyOf(doomed)).toEqual(['failed', 'killed']);
  });

  it('snoozed, progress, cancelled and rescued', async () => {
    const sleepy = await sink().push('sleepy', {});
    await waitFor('completed after a snooze', () => onlyOf(sleepy).includes('completed'));
    expect(onlyOf(sleepy)).toEqual(['snoozed', 'completed']);
    expect(seen.find((x) => x.job.id === sleepy && x.event === 'snoozed')).toMatchObject({ delayMs: 10 });

    const busy = await sink().push('busy', {});
    await waitFor('completed', () => onlyOf(busy).includes('completed'));
    expect(seen.filter((x) => x.job.id === busy && x.event === 'progress').map((x) => x.progress)).toEqual([{ step: 1 }, { step: 2 }]);

    const later = await sink().push('ok', {}, { delayMs: 60_000 });
    await app.get(QueueAdmin).cancel(later);
    await waitFor('cancelled', () => onlyOf(later).includes('cancelled'));
    expect(seen.find((x) => x.job.id === later && x.event === 'cancelled')).toMatchObject({ job: { id: later, queue: 'ev' } });

    await scope.pool.query(
      `INSERT INTO ${schema}.jobs (id, queue, name, payload, status, attempts, max_attempts, locked_at, locked_by)
       VALUES ('01JD0000000000000000000001', 'ev', 'ok', '{}', 'running', 1, 3, now() - interval '5 seconds', 'vanished-worker')`,
    );
    await waitFor('rescued', () => onlyOf('01JD0000000000000000000001').includes('rescued'));
    expect(seen.find((x) => x.job.id === '01JD0000000000000000000001' && x.event === 'rescued')).toMatchObject({
      job: { queue: 'ev', name: 'ok', attempt: 1 },
      error: 'worker vanished-worker stopped heartbeating during attempt 1',
    });
  });

  it('an unknown event name fails the bootstrap, naming the method', async () => {
    @Injectable()
    class Typo {
      @OnJobEvent('complete' as never)
      handle() {}
    }
    const err = await rejectionOf(createQueueApp({ schema: scope.fresh(), queues: ['ev'] }, [Typo]));
    expect(err).toBeInstanceOf(ProcessorDefinitionError);
    expect(err.message).toBe(
      '@OnJobEvent on Typo.handle: "complete" is not a job event (completed, failed, retrying, killed, cancelled, snoozed, rescued, progress); did you mean "completed"?',
    );
  });
});
