import { Injectable } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';
import { InjectSink, QueueError, UnknownQueueError, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { rejectionOf, sinkOf } from './support.js';

@Injectable()
class SignupService {
  constructor(@InjectSink('emails') readonly emails: QueueSink) {}
}

@Injectable()
class ReportsService {
  constructor(@InjectSink('reports') readonly reports: QueueSink) {}
}

describe('@InjectSink of a queue that forRoot does not register', () => {
  const { fresh, dispose } = schemaScope('uqs');
  afterAll(dispose);

  it('fails the boot with UnknownQueueError naming the queue and the registered ones', async () => {
    const err = await rejectionOf(createQueueApp({ schema: fresh(), queues: ['default', 'reports'] }, [SignupService, ReportsService]));
    expect(err).toBeInstanceOf(UnknownQueueError);
    expect(err).toBeInstanceOf(QueueError);
    expect(err.code).toBe('UNKNOWN_QUEUE');
    expect(err.message).toBe('@InjectSink("emails"): queue "emails" is not registered; add it to QueueModule.forRoot({ queues }) (registered: "default", "reports")');
  });

  it('a decorated class the app does not use costs nothing, and a registered queue is injected as before', async () => {
    const app = await createQueueApp({ schema: fresh(), queues: ['default', 'reports'] }, [ReportsService]);
    try {
      expect(app.get(ReportsService).reports).toBe(sinkOf(app, 'reports'));
    } finally {
      await app.close();
    }
  });
});
