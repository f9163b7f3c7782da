import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { QueueTester, QueueTestingModule } from '../../src/testing/index.js';
import { AppModule, queueModule, SignupService } from './fixtures.js';

function countByType(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of process.getActiveResourcesInfo()) counts[t] = (counts[t] ?? 0) + 1;
  return counts;
}

describe('QueueTestingModule leaves nothing open', () => {
  it('no new Timeout or TCP handle after app.close()', async () => {
    const before = countByType();
    const ref = await Test.createTestingModule({ imports: [AppModule] })
      .overrideModule(queueModule)
      .useModule(QueueTestingModule.forRoot({ queues: ['emails', 'audit'], mode: 'manual' }))
      .compile();
    const app = ref.createNestApplication();
    await app.init();
    await app.get(SignupService).signUp('a@example.com');
    await app.get(QueueTester).drain();
    await app.close();
    const after = countByType();
    for (const type of ['Timeout', 'TCPWrap', 'TCPSocketWrap', 'TCPServerWrap']) {
      // At most as many: a timer another file in this worker left may end meanwhile (seen on CI), never one more.
      expect({ type, count: Math.max(after[type] ?? 0, before[type] ?? 0) }).toEqual({ type, count: before[type] ?? 0 });
    }
  });
});
