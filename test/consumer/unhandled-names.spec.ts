import { Injectable, type INestApplication } from '@nestjs/common';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Process, Processor, QueueAdmin, type Job } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { schemaScope } from '../helpers/db.js';
import { CapturingLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';
import { sinkOf } from '../producer/support.js';

@Processor('orders')
@Injectable()
class OrdersProcessor {
  @Process('confirm')
  confirm(_job: Job) {
    return 'confirmed';
  }

  @Process('refund')
  refund(_job: Job) {
    return 'refunded';
  }
}

/** A second process's handlers for the same queue: it handles the name the first one lacks. */
@Processor('orders')
@Injectable()
class ConfrimProcessor {
  @Process('confrim')
  confrim(_job: Job) {
    return 'handled after all';
  }
}

const warningFor = (name: string) =>
  `queue "orders": 2 due job(s) named "${name}" have no handler in any live worker (did you mean "confirm"?). ` +
  'This process handles "confirm", "refund"; the jobs wait until a worker with ' +
  `@Process("${name}") runs (QueueAdmin.stats() counts them under "unhandled").`;

describe('consumer: due jobs of a name no live worker handles', () => {
  const scope = schemaScope('unh');
  const apps: INestApplication[] = [];
  // Nest's logger is global (the last app's wins): each test closes its apps, so no earlier
  // app's warnings reach the next test's logger.
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close().catch(() => undefined);
  });
  afterAll(() => scope.dispose());
  // pollIntervalMs 100: the watch checks every second (10 polls, at least 1 s).
  const boot = async (schema: string, providers: unknown[], logger = new CapturingLogger(), workers = true) => {
    const app = await createQueueApp({ schema, queues: ['orders'], pollIntervalMs: 100, workers }, providers as never, [], logger);
    apps.push(app);
    return { app, logger };
  };
  const unhandledWarnings = (logger: CapturingLogger) => logger.lines.filter((l) => l.startsWith('[QueueUnhandledNames]'));

  it("a typo'd name ('confrim') is warned about once, however many checks see it, and the handled names run", async () => {
    const schema = scope.fresh();
    const { app, logger } = await boot(schema, [OrdersProcessor]);
    const sink = sinkOf(app, 'orders');
    const ok = await sink.push('confirm', {});
    await sink.pushMany([{ name: 'confrim', data: {} }, { name: 'confrim', data: {} }]);
    await waitFor('the warning about "confrim"', () => unhandledWarnings(logger).length > 0, 15_000);
    expect(unhandledWarnings(logger)).toEqual([`[QueueUnhandledNames] ${warningFor('confrim')}`]);
    expect((await app.get(QueueAdmin).getJob(ok))!.status).toBe('done');

    // Later checks ran (they found the next typo) and did not repeat the first warning.
    await sink.pushMany([{ name: 'confirn', data: {} }, { name: 'confirn', data: {} }]);
    await waitFor('the warning about "confirn"', () => unhandledWarnings(logger).length > 1, 15_000);
    expect(unhandledWarnings(logger)).toEqual([
      `[QueueUnhandledNames] ${warningFor('confrim')}`,
      `[QueueUnhandledNames] ${warningFor('confirn')}`,
    ]);

    const stats = await app.get(QueueAdmin).stats();
    expect(stats.orders.unhandled).toEqual({ confrim: 2, confirn: 2 });
    expect(stats.orders.pending).toBe(4);
  });

  it('stats() counts only due jobs and only names no live worker has: a second process that handles the name clears it', async () => {
    const schema = scope.fresh();
    const { app: worker } = await boot(schema, [OrdersProcessor]);
    const { app: api } = await boot(schema, [], new CapturingLogger(), false);
    const sink = sinkOf(api, 'orders');
    await sink.pushMany([
      { name: 'confrim', data: {} },
      { name: 'confrim', data: {}, options: { delayMs: 3_600_000 } }, // not due: not counted
      { name: 'refund', data: {} },
    ]);
    const admin = api.get(QueueAdmin);
    await waitFor('the refund done', async () => (await admin.stats()).orders.done === 1);
    expect((await admin.stats()).orders.unhandled).toEqual({ confrim: 1 });

    // A process with a handler for it comes up: the due job runs and nothing is unhandled.
    await boot(schema, [ConfrimProcessor]);
    await waitFor('the confrim job done', async () => (await admin.stats()).orders.done === 2);
    expect((await admin.stats()).orders.unhandled).toEqual({});
    await worker.close();
    // With no live worker left for "confirm", its due jobs are unhandled too.
    await sink.push('confirm', {});
    const orphaned = await waitFor('"confirm" counted as unhandled', async () => {
      const u = (await admin.stats()).orders.unhandled;
      return u.confirm === 1 ? u : null;
    });
    expect(orphaned).toEqual({ confirm: 1 });
  });

  it('the warnings are bounded: past 100 names one line says no more are logged', async () => {
    const schema = scope.fresh();
    const { app, logger } = await boot(schema, [OrdersProcessor]);
    const names = Array.from({ length: 105 }, (_, i) => `typo-${String(i).padStart(3, '0')}`);
    await sinkOf(app, 'orders').pushMany(names.map((name) => ({ name, data: {} })));
    const flood = 'more than 100 job names have no handler; no more are logged (QueueAdmin.stats() counts them under "unhandled")';
    await waitFor('the flood line', () => logger.warnings.includes(flood), 15_000);
    const perName = unhandledWarnings(logger).filter((l) => l.includes('due job(s) named'));
    expect(perName).toHaveLength(100);
    expect(unhandledWarnings(logger).filter((l) => l.endsWith(flood))).toHaveLength(1);
    expect(Object.keys((await app.get(QueueAdmin).stats()).orders.unhandled)).toHaveLength(105);
  });
});
