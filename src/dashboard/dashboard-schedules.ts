import { BadRequestException, Get, HttpCode, NotFoundException, Param, Post, Req } from '@nestjs/common';
import type { QueueSchedules } from '../schedules/queue-schedules.js';
import type { ScheduleRecord } from '../schedules/schedule-operations.js';
import type { DashboardAccess } from './dashboard-access.js';
import type { DashboardRequest } from './dashboard.options.js';

/** The schedules' routes of the dashboard API (a base class, as DashboardApi). */
export abstract class DashboardSchedulesApi {
  protected abstract readonly schedules: QueueSchedules;
  protected abstract readonly access: DashboardAccess;

  @Get('api/schedules')
  async list(@Req() req: DashboardRequest): Promise<{ schedules: ScheduleRecord[] }> {
    await this.access.check(req, 'read');
    return { schedules: await this.schedules.listSchedules() };
  }

  /** pause / resume a schedule, or trigger it now (one job, outside its slots). */
  @Post('api/schedules/:key/:verb')
  @HttpCode(200)
  async verb(@Req() req: DashboardRequest, @Param('key') key: string, @Param('verb') verb: string) {
    if (verb !== 'pause' && verb !== 'resume' && verb !== 'trigger') {
      throw new NotFoundException({ error: `no action "${verb}" on schedules (known: pause, resume, trigger)`, field: 'verb' });
    }
    if (key.length === 0 || key.length > 500 || key.includes('\0')) throw new BadRequestException({ error: 'key must be a schedule key', field: 'key' });
    await this.access.check(req, verb);
    const result =
      verb === 'trigger' ? await this.schedules.triggerNow(key) : verb === 'pause' ? await this.schedules.pauseSchedule(key) : await this.schedules.resumeSchedule(key);
    this.access.audit(req, verb, `schedule ${key}`, result === null ? 'not found' : verb === 'trigger' ? `job ${String(result)}` : 'done');
    if (result === null) throw new NotFoundException({ error: `no schedule ${JSON.stringify(key)}`, field: 'key' });
    return verb === 'trigger' ? { key, jobId: result } : { schedule: result };
  }
}
