export { QueueDashboardModule } from './queue-dashboard.module.js';
export type { DashboardAction, DashboardRequest, QueueDashboardOptions } from './dashboard.options.js';
export type { Overview, DashboardJob } from './dashboard-reads.js';
