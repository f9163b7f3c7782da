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

  /**
   * A long export (`seconds`, at most 60) that stops as soon as its job is cancelled (from the
   * dashboard or QueueAdmin.cancel): `job.signal` aborts, and the slot is free at once.
   */
  @Process('export', { maxAttempts: 1 })
  async export(job: Job<{ seconds?: number }>): Promise<{ stopped: boolean }> {
    const ms = Math.min(60, Math.max(0, Number(job.data?.seconds ?? 5))) * 1000;
    const stopped = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      job.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    this.logger.log(`export ${job.id} ${stopped ? 'stopped: ' + String((job.signal.reason as Error)?.message) : 'finished'}`);
    return { stopped };
  }
}
