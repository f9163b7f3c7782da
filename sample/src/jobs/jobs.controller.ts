import { Controller, Get, NotFoundException, Param } from '@nestjs/common';
import { QueueAdmin, type JobRecord, type QueueStats } from '../../../src/index.js';

@Controller()
export class JobsController {
  constructor(private readonly admin: QueueAdmin) {}

  /** The stored job: status, attempts, result, lastError and the rest. */
  @Get('jobs/:id')
  async job(@Param('id') id: string): Promise<JobRecord> {
    const job = await this.admin.getJob(id);
    if (!job) throw new NotFoundException(`no job ${id}`);
    return job;
  }

  /** Job counts by queue and status. */
  @Get('queues/stats')
  stats(): Promise<QueueStats> {
    return this.admin.stats();
  }
}
