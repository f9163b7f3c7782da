import { Injectable, Logger } from '@nestjs/common';
import { Process, Processor, type Job } from '../../../src/index.js';

export interface ReportJob {
  title: string;
}

/** The `reports` queue runs at most two jobs at once in this process (see app.module.ts). */
@Processor('reports')
@Injectable()
export class ReportsProcessor {
  private readonly logger = new Logger(ReportsProcessor.name);

  /**
   * Fails its first attempt on purpose, to show a retry: the failure is recorded in `errors` (and in
   * `lastError` until the next attempt succeeds), the job waits the fixed 200 ms backoff, and the second attempt succeeds.
   */
  @Process('generate', { maxAttempts: 3, backoff: { type: 'fixed', delayMs: 200 } })
  async generate(job: Job<ReportJob>): Promise<{ title: string; rows: number; attempt: number }> {
    if (job.attempt === 1) {
      this.logger.warn(`report ${job.id}: first attempt fails on purpose`);
      throw new Error('report backend unavailable (the first attempt fails on purpose)');
    }
    this.logger.log(`report ${job.id} generated on attempt ${job.attempt}`);
    return { title: job.data.title, rows: 42, attempt: job.attempt };
  }
}
