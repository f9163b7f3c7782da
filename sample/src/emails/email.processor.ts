import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Process, Processor, type Job } from '../../../src/index.js';
import { welcomeJob, type WelcomeJob } from './welcome.job.js';
import { User } from '../users/user.entity.js';

@Processor('emails')
@Injectable()
export class EmailProcessor {
  private readonly logger = new Logger(EmailProcessor.name);

  constructor(private readonly db: DataSource) {}

  /** "Sends" the welcome email, then records it on the user. Throwing would fail the attempt. */
  @Process(welcomeJob)
  async welcome(job: Job<WelcomeJob>): Promise<{ sentTo: string }> {
    this.logger.log(`welcome email to ${job.data.email} (job ${job.id}, attempt ${job.attempt})`);
    await this.db.getRepository(User).update({ id: job.data.userId }, { welcomedAt: new Date() });
    return { sentTo: job.data.email };
  }
}
