import { BadRequestException, Body, Controller, Post } from '@nestjs/common';
import { InjectSink, QueueSink } from '../../../src/index.js';
import type { ReportJob } from './reports.processor.js';

@Controller('reports')
export class ReportsController {
  constructor(@InjectSink('reports') private readonly reports: QueueSink) {}

  /** Enqueues a report outside any transaction (the sink uses the queue's own pool). */
  @Post()
  async create(@Body() body: unknown): Promise<{ jobId: string }> {
    const title = (body as { title?: unknown } | null)?.title ?? 'monthly report';
    if (typeof title !== 'string' || title.length === 0 || title.length > 200) {
      throw new BadRequestException('title must be a non-empty string of at most 200 characters');
    }
    const jobId = await this.reports.push('generate', { title } satisfies ReportJob);
    return { jobId };
  }
}
