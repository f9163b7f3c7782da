import { Controller, Inject, Module, UseGuards, type DynamicModule } from '@nestjs/common';
import type { Pool } from 'pg';
import { QueueAdmin } from '../admin/queue-admin.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS } from '../queue.tokens.js';
import { DashboardAccess } from './dashboard-access.js';
import { DashboardApi } from './dashboard-api.js';
import { DashboardReads } from './dashboard-reads.js';
import { LiveSnapshot } from './live-snapshot.js';
import { DashboardUi } from './dashboard-ui.js';
import { resolveDashboardOptions, type QueueDashboardOptions } from './dashboard.options.js';

const DASHBOARD_OPTIONS = Symbol('nestjs-pg-queue:dashboard-options');

/**
 * The dashboard, mounted in the app as real controllers: `QueueDashboardModule.forRoot({ path,
 * guards, readOnly, authorize })` after `QueueModule.forRoot()`. Its routes go through the app's
 * global guards, interceptors and prefix, then its own `guards`, then `authorize`.
 */
@Module({})
export class QueueDashboardModule {
  static forRoot(options: QueueDashboardOptions = {}): DynamicModule {
    const resolved = resolveDashboardOptions(options);
    class QueueDashboardController extends DashboardApi {
      protected readonly reads: DashboardReads;
      protected readonly access: DashboardAccess;
      protected readonly previewBytes = resolved.payloadPreviewBytes;
      protected readonly live: LiveSnapshot;
      protected readonly ui = new DashboardUi();

      constructor(
        @Inject(QueueAdmin) protected readonly admin: QueueAdmin,
        @Inject(QUEUE_POOL) pool: Pool,
        @Inject(QUEUE_RESOLVED_OPTIONS) queueOptions: ResolvedQueueOptions,
      ) {
        super();
        this.reads = new DashboardReads(pool, queueOptions, admin);
        this.access = new DashboardAccess(resolved);
        this.live = new LiveSnapshot(() => this.reads.overview(), resolved.liveIntervalMs);
      }

      onModuleDestroy(): void {
        this.live.stop();
      }
    }
    Controller(resolved.path)(QueueDashboardController);
    if (resolved.guards.length > 0) UseGuards(...resolved.guards)(QueueDashboardController);
    return {
      module: QueueDashboardModule,
      controllers: [QueueDashboardController],
      providers: [{ provide: DASHBOARD_OPTIONS, useValue: resolved }],
    };
  }
}
