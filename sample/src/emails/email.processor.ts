import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Process, Processor, type Job } from '../../../src/index.js';
import type { WelcomeJob } from '../users/users.controller.js';
import { User } from '../users/user.entity.js';

@Processor('emails')
@Injectable()
export class EmailProcessor {
  private readonly logger = new Logger(EmailProcessor.name);

  constructor(private readonly db: DataSource) {}

  /** "Sends" the welcome email, then records it on the user. Throwing would fail the attempt. */
  @Process('welcome')
  async welcome(job: Job<WelcomeJob>): Promise<{ sentTo: string }> {
    this.logger.log(`welcome email to ${job.data.email} (job ${job.id}, attempt ${job.attempt})`);
    await this.db.getRepository(User).update({ id: job.data.userId }, { welcomedAt: new Date() });
    return { sentTo: job.data.email };
  }
}
