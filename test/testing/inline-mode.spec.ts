import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidJobError, QueueRegistry } from '../../src/index.js';
import { AssertionError, QueueTester, QueueTestingModule } from '../../src/testing/index.js';
import { AppModule, queueModule, EmailProcessor, effects, SignupService } from './fixtures.js';

describe('QueueTestingModule, inline mode (no database)', () => {
  let app: INestApplication;
  let tester: QueueTester;

  beforeAll(async () => {
    // The recipe the README gives: the app module as is, its QueueModule swapped.
    const ref = await Test.createTestingModule({ imports: [AppModule] })
      .overrideModule(queueModule)
      .useModule(QueueTestingModule.forRoot({ queues: ['emails', 'audit'], mode: 'inline' }))
      .compile();
    app = ref.createNestApplication();
    await app.init();
    tester = app.get(QueueTester);
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    tester.clear();
    effects.length = 0;
  });

  it('a push runs its handler (and the job it pushes) before it resolves', async () => {
    const id = await app.get(SignupService).signUp('a@example.com');
    expect(effects).toEqual([{ sent: 'a@example.com', sentAt: undefined, aborted: false }, { audit: 'welcomed a@example.com' }]);
    const job = tester.expectEnqueued({ queue: 'emails', name: 'welcome', data: { email: 'a@example.com' } });
    expect(job).toMatchObject({ id, status: 'done', attempts: 1, result: { ok: true, attempt: 1 }, progress: [50] });
    tester.expectEnqueued({ queue: 'audit', name: 'log' });
    expect(tester.enqueued('audit')).toHaveLength(1);
  });

  it('QueueRegistry works unchanged', async () => {
    expect(app.get(QueueRegistry).queues).toEqual(['emails', 'audit']);
    await app.get(QueueRegistry).sink('audit').push('log', { what: 'x' });
    tester.expectEnqueued({ queue: 'audit', data: { what: 'x' } });
    expect(() => app.get(QueueRegistry).sink('nope')).toThrow(InvalidJobError);
  });

  it("the handler's schema refuses a bad payload at push, naming the field 'data'", async () => {
    const err = await app.get(SignupService).signUp('not-an-email').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidJobError);
    expect((err as InvalidJobError).field).toBe('data');
    expect((err as InvalidJobError).issues?.[0].path).toBe('data.email');
    expect(tester.enqueued()).toEqual([]);
  });

  it('the real validation runs: a bad option and a lossy payload are refused as in production', async () => {
    const sink = app.get(QueueRegistry).sink('audit');
    await expect(sink.push('log', {}, { priority: 1.5 })).rejects.toMatchObject({ field: 'options.priority' });
    await expect(sink.push('log', { s: new Set([1]) })).rejects.toMatchObject({ field: 'data.s' });
  });

  it('the payload is JSON round-tripped: a Date reaches a handler without a schema as its ISO string', async () => {
    const at = new Date('2026-01-02T03:04:05.000Z');
    await app.get(QueueRegistry).sink('audit').push('log', { what: 'dated', at });
    expect(effects[0]).toEqual({ audit: 'dated', at: '2026-01-02T03:04:05.000Z' });
    expect(tester.expectEnqueued({ name: 'log', data: { at } }).data).toEqual({ what: 'dated', at: '2026-01-02T03:04:05.000Z' });
  });

  it('a schema sees the pushed value, as the real sink does: a Date where it wants a string is refused', async () => {
    const err = await app.get(SignupService).signUp('b@example.com', { sentAt: new Date() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidJobError);
    expect((err as InvalidJobError).issues?.[0].path).toBe('data.sentAt');
  });

  it('a handler error does not reject the push: it is the failed attempt (no automatic retry inline)', async () => {
    const sink = app.get(QueueRegistry).sink('emails');
    await sink.push('flaky', { failUntil: 2 });
    const job = tester.expectEnqueued({ name: 'flaky' });
    expect(job).toMatchObject({ status: 'retrying', attempts: 1, maxAttempts: 3 });
    expect(job.error?.message).toBe('flaky attempt 1');
    await sink.push('poison', {});
    expect(tester.expectEnqueued({ name: 'poison' })).toMatchObject({ status: 'killed', attempts: 1 });
  });

  it('perform runs one handler with the given attempt and returns its result', async () => {
    await expect(tester.perform(EmailProcessor, 'flaky', { failUntil: 3 }, { attempt: 3 })).resolves.toBe('finally');
    await expect(tester.perform(EmailProcessor, 'flaky', { failUntil: 3 }, { attempt: 2 })).rejects.toThrow('flaky attempt 2');
    await expect(tester.perform(EmailProcessor, 'nope', {})).rejects.toThrow(/has no @Process\("nope"\)/);
  });

  it('expectEnqueued fails with a message listing what was enqueued', async () => {
    await app.get(SignupService).signUp('c@example.com');
    let err: unknown;
    try {
      tester.expectEnqueued({ queue: 'emails', name: 'welcome', data: { email: 'z@example.com' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AssertionError);
    const message = (err as Error).message;
    expect(message).toContain('Expected a matching job to be enqueued, found none.');
    expect(message).toContain("z@example.com");
    expect(message).toContain("emails / welcome [done] data: { email: 'c@example.com' }");
    expect(message).toContain('audit / log [done]');
    expect(() => tester.expectNotEnqueued({ name: 'welcome' })).toThrow(AssertionError);
    tester.expectNotEnqueued({ name: 'welcome', data: { email: 'z@example.com' } });
  });
});
