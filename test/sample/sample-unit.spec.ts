import { BadRequestException, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReportsController } from '../../sample/src/reports/reports.controller.js';
import { ReportsProcessor } from '../../sample/src/reports/reports.processor.js';
import { QueueTester, QueueTestingModule } from '../../src/testing/index.js';

/** A unit test of the sample's ReportsController with nestjs-pg-queue/testing: no database at all. */
describe('sample app: ReportsController unit test (QueueTestingModule, manual mode)', () => {
  let app: INestApplication;
  let controller: ReportsController;
  let queue: QueueTester;

  beforeEach(async () => {
    const ref = await Test.createTestingModule({
      imports: [QueueTestingModule.forRoot({ queues: ['reports'], mode: 'manual' })],
      controllers: [ReportsController],
      providers: [ReportsProcessor],
    }).compile();
    app = ref.createNestApplication({ logger: false });
    await app.init();
    controller = app.get(ReportsController);
    queue = app.get(QueueTester);
  });
  afterEach(async () => {
    await app?.close();
  });

  it('enqueues a generate job with the title; draining runs it, the first attempt failing on purpose and the retry succeeding', async () => {
    const { jobId } = await controller.create({ title: 'Q3' });
    queue.expectEnqueued({ queue: 'reports', name: 'generate', data: { title: 'Q3' } });
    expect(queue.enqueued('reports').map((j) => [j.id, j.status])).toEqual([[jobId, 'pending']]);

    expect(await queue.drain({ queue: 'reports' })).toMatchObject({ completed: 1, failed: 1, killed: 0 });
    const [job] = queue.enqueued('reports');
    expect(job).toMatchObject({ status: 'done', attempts: 2, result: { title: 'Q3', rows: 42, attempt: 2 } });
  });

  it('a bad title is refused with 400 and enqueues nothing', async () => {
    await expect(controller.create({ title: '' })).rejects.toBeInstanceOf(BadRequestException);
    queue.expectNotEnqueued({ queue: 'reports', name: 'generate' });
    expect(queue.enqueued('reports')).toEqual([]);
  });

  it('perform() runs the handler for one attempt directly', async () => {
    await expect(queue.perform(ReportsProcessor, 'generate', { title: 'x' }, { attempt: 1 })).rejects.toThrow(/fails on purpose/);
    expect(await queue.perform(ReportsProcessor, 'generate', { title: 'x' }, { attempt: 2 })).toEqual({ title: 'x', rows: 42, attempt: 2 });
  });
});
