import type { INestApplication, LoggerService, Provider, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { QueueModule, type QueueModuleOptions } from '../../src/index.js';
import { databaseUrl } from './db.js';

export type TestQueueOptions = Partial<QueueModuleOptions> & { schema: string };

/** Boots a Nest application with QueueModule on the test database and the given providers. */
export async function createQueueApp(
  options: TestQueueOptions,
  providers: Array<Provider | Type> = [],
  imports: any[] = [],
  logger?: LoggerService,
): Promise<INestApplication> {
  const builder = Test.createTestingModule({
    imports: [
      QueueModule.forRoot({
        connection: { connectionString: databaseUrl(), max: 5 },
        queues: ['default'],
        pollIntervalMs: 200,
        ...options,
      } as QueueModuleOptions),
      ...imports,
    ],
    providers,
  });
  // What the providers log while the module compiles (the boot's database work) goes here too.
  if (logger) builder.setLogger(logger);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: logger ?? (process.env.TEST_LOGS ? undefined : false) });
  try {
    await app.init();
  } catch (err) {
    await app.close().catch(() => undefined);
    throw err;
  }
  return app;
}
