import { Controller, Inject, Module, UseGuards, type DynamicModule, type Type } from '@nestjs/common';
import type { Pool } from 'pg';
import { QueueAdmin } from '../admin/queue-admin.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS } from '../queue.tokens.js';
import { QueueSchedules } from '../schedules/queue-schedules.js';
import { DashboardAccess } from './dashboard-access.js';
import { DashboardApi } from './dashboard-api.js';
import { DashboardReads } from './dashboard-reads.js';
import { DashboardSchedulesApi } from './dashboard-schedules.js';
import { DashboardUi } from './dashboard-ui.js';
import { resolveDashboardOptions, type QueueDashboardOptions, type ResolvedDashboardOptions } from './dashboard.options.js';
import { LiveSnapshot } from './live-snapshot.js';

/**
 * The dashboard, mounted in the app as real controllers: `QueueDashboardModule.forRoot({ path,
 * guards, readOnly, authorize })` after `QueueModule.forRoot()`. Its routes go through the app's
 * global guards, interceptors and prefix, then its own `guards`, then `authorize`.
 */
@Module({})
export class QueueDashboardModule {
  static forRoot(options: QueueDashboardOptions = {}): DynamicModule {
    const resolved = resolveDashboardOptions(options);
    const access = new DashboardAccess(resolved);

    class QueueDashboardController extends DashboardApi {
      protected readonly reads: DashboardReads;
      protected readonly access = access;
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
        this.live = new LiveSnapshot(() => this.reads.overview(), resolved.liveIntervalMs);
      }

      onModuleDestroy(): void {
        this.live.stop();
      }
    }

    class QueueDashboardSchedulesController extends DashboardSchedulesApi {
      protected readonly access = access;
      constructor(@Inject(QueueSchedules) protected readonly schedules: QueueSchedules) {
        super();
      }
    }

    return {
      module: QueueDashboardModule,
      controllers: [mount(QueueDashboardController, resolved), mount(QueueDashboardSchedulesController, resolved)],
    };
  }
}

/** The controller at the dashboard's path, behind its guards. */
function mount<T extends Type>(controller: T, options: ResolvedDashboardOptions): T {
  Controller(options.path)(controller);
  if (options.guards.length > 0) UseGuards(...options.guards)(controller);
  return controller;
}
