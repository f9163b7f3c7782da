import { ForbiddenException, Logger } from '@nestjs/common';
import { WRITE_ACTIONS, type DashboardAction, type DashboardRequest, type ResolvedDashboardOptions } from './dashboard.options.js';

/**
 * The dashboard's own checks after the guards: `readOnly` refuses every action, `authorize`
 * decides each request. Every allowed action is written to the log with who asked for it.
 */
export class DashboardAccess {
  private readonly logger = new Logger('QueueDashboard');

  constructor(private readonly options: ResolvedDashboardOptions) {}

  async check(req: DashboardRequest, action: DashboardAction): Promise<void> {
    if (this.options.readOnly && WRITE_ACTIONS.includes(action)) throw new ForbiddenException({ error: `the dashboard is read-only: ${action} is not allowed` });
    if (this.options.authorize && !(await this.options.authorize(req, action))) throw new ForbiddenException({ error: `not authorized to ${action}` });
  }

  /** The log line of an action that ran: who, what, on what, with what outcome. */
  audit(req: DashboardRequest, action: DashboardAction, target: string, outcome: string): void {
    this.logger.log(`${this.options.actor(req)} ${action} ${target}: ${outcome}`);
  }
}
