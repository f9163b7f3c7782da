import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { ClsPluginTransactional } from '@nestjs-cls/transactional';
import { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { ClsModule } from 'nestjs-cls';
import { QueueModule } from '../../src/index.js';
import { QueueHealthIndicator } from '../../src/terminus/index.js';
import { clsTransactions } from '../../src/transactional/index.js';
import { QueueDashboardModule } from '../../src/dashboard/index.js';
import { DashboardLoginController, DashboardTokenGuard } from './dashboard/dashboard-token.guard.js';
import { HealthController } from './health/health.controller.js';
import { EmailProcessor } from './emails/email.processor.js';
import { JobsController } from './jobs/jobs.controller.js';
import { ReportsController } from './reports/reports.controller.js';
import { ReportsProcessor } from './reports/reports.processor.js';
import { User } from './users/user.entity.js';
import { UsersController } from './users/users.controller.js';
import { SignupsController } from './users/signups.controller.js';
import { SignupsService } from './users/signups.service.js';

export interface SampleConfig {
  databaseUrl: string;
  /** Schema of the app's own tables (it must exist). Default `public`. */
  schema?: string;
  /** Schema of the queue's tables (created by the queue's migrations). Default `pgqueue`. */
  queueSchema?: string;
}

/** The sample app, built from its configuration so tests can boot it on a schema of their own. */
@Module({})
export class AppModule {
  static register({ databaseUrl, schema = 'public', queueSchema = 'pgqueue' }: SampleConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: databaseUrl,
          schema,
          entities: [User],
          // Fine for a sample; a real app runs TypeORM migrations instead.
          synchronize: true,
          retryAttempts: 1,
          retryDelay: 500,
        }),
        // @Transactional() for SignupsService; the queue joins its transactions (ambientTransactions).
        ClsModule.forRoot({
          global: true,
          plugins: [
            new ClsPluginTransactional({
              imports: [TypeOrmModule],
              adapter: new TransactionalAdapterTypeOrm({ dataSourceToken: getDataSourceToken() }),
            }),
          ],
        }),
        QueueModule.forRoot({
          connection: { connectionString: databaseUrl, max: 10 },
          schema: queueSchema,
          queues: ['emails', { name: 'reports', concurrency: 2 }],
          shutdownGraceMs: 10_000,
          ambientTransactions: clsTransactions(),
        }),
        // The dashboard at /queues/, behind the example token guard (see dashboard-token.guard.ts).
        QueueDashboardModule.forRoot({ path: 'queues', guards: [DashboardTokenGuard] }),
      ],
      controllers: [DashboardLoginController, UsersController, SignupsController, JobsController, ReportsController, HealthController],
      providers: [SignupsService, EmailProcessor, ReportsProcessor, QueueHealthIndicator],
    };
  }
}
