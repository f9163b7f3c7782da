import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QueueRegistry } from '../../src/index.js';
import { QueueTester, QueueTestingModule } from '../../src/testing/index.js';
import { effects, FeatureModule, SignupService } from './fixtures.js';

describe('QueueTestingModule, manual mode (imports-based recipe)', () => {
  let app: INestApplication;
  let tester: QueueTester;

  beforeAll(async () => {
    const ref = await Test.createTestingModule({
      imports: [QueueTestingModule.forRoot({ queues: ['emails', 'audit'], mode: 'manual' }), FeatureModule],
    }).compile();
    app = ref.createNestApplication();
    await app.init();
    tester = app.get(QueueTester);
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    tester.clear();
    effects.length = 0;
  });

  it('records pending jobs; drain runs them and the jobs their handlers push', async () => {
    await app.get(SignupService).signUp('a@example.com');
    expect(effects).toEqual([]);
    expect(tester.expectEnqueued({ name: 'welcome' }).status).toBe('pending');
    await expect(tester.drain()).resolves.toEqual({ completed: 2, failed: 0, killed: 0 });
    expect(effects).toEqual([{ sent: 'a@example.com', sentAt: undefined, aborted: false }, { audit: 'welcomed a@example.com' }]);
    expect(tester.enqueued().map((j) => j.status)).toEqual(['done', 'done']);
  });

  it('drain({ queue }) runs only that queue', async () => {
    await app.get(SignupService).signUp('b@example.com');
    await app.get(QueueRegistry).sink('audit').push('log', { what: 'direct' });
    await expect(tester.drain({ queue: 'audit' })).resolves.toEqual({ completed: 1, failed: 0, killed: 0 });
    expect(tester.expectEnqueued({ name: 'welcome' }).status).toBe('pending');
  });

  it('drain retries failed attempts up to maxAttempts, ignoring delays; UnrecoverableError kills at once', async () => {
    const sink = app.get(QueueRegistry).sink('emails');
    await sink.push('flaky', { failUntil: 3 }, { delayMs: 60_000 });
    await sink.push('flaky', { failUntil: 9 });
    await sink.push('poison', {}, { maxAttempts: 5 });
    await expect(tester.drain()).resolves.toEqual({ completed: 1, failed: 4, killed: 2 });
    const [ok, dead, poison] = tester.enqueued('emails');
    expect(ok).toMatchObject({ status: 'done', attempts: 3, result: 'finally' });
    expect(dead).toMatchObject({ status: 'killed', attempts: 3, maxAttempts: 3 });
    expect(dead.errors.map((e) => e.message)).toEqual(['flaky attempt 1', 'flaky attempt 2', 'flaky attempt 3']);
    expect(poison).toMatchObject({ status: 'killed', attempts: 1, maxAttempts: 5 });
    expect(poison.error?.name).toBe('UnrecoverableError');
  });

  it('a snoozed job is re-queued without counting the attempt', async () => {
    await app.get(QueueRegistry).sink('emails').push('sleepy', { snoozes: 2 });
    await expect(tester.drain()).resolves.toEqual({ completed: 1, failed: 0, killed: 0 });
    expect(tester.expectEnqueued({ name: 'sleepy' })).toMatchObject({ status: 'done', attempts: 1, result: 'awake' });
    expect(effects).toEqual([{ sleepy: 1 }, { sleepy: 1 }, { sleepy: 1 }]);
  });

  it('a job without a handler stays pending', async () => {
    await app.get(QueueRegistry).sink('audit').push('unhandled', {});
    await expect(tester.drain()).resolves.toEqual({ completed: 0, failed: 0, killed: 0 });
    expect(tester.expectEnqueued({ name: 'unhandled' }).status).toBe('pending');
  });
});
