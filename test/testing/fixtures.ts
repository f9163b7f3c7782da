import { Injectable, Module } from '@nestjs/common';
import { z } from 'zod';
import { defineJob, InjectSink, Process, Processor, QueueModule, UnrecoverableError, type Job, type QueueSink } from '../../src/index.js';

/** A small app as a user writes it: a service pushing, processors handling, QueueModule.forRoot in the root module. */
export const welcomeJob = defineJob('welcome', z.object({ email: z.email(), sentAt: z.string().optional() }));

export const effects: unknown[] = [];

@Injectable()
export class SignupService {
  constructor(@InjectSink('emails') private readonly emails: QueueSink) {}

  signUp(email: string, extra: Record<string, unknown> = {}) {
    return this.emails.push(welcomeJob, { email, ...extra });
  }
}

@Processor('emails', { maxAttempts: 3 })
@Injectable()
export class EmailProcessor {
  constructor(@InjectSink('audit') private readonly audit: QueueSink) {}

  @Process(welcomeJob)
  async welcome(job: Job<{ email: string; sentAt?: string }>) {
    effects.push({ sent: job.data.email, sentAt: job.data.sentAt, aborted: job.signal.aborted });
    job.progress(50);
    await this.audit.push('log', { what: `welcomed ${job.data.email}` });
    return { ok: true, attempt: job.attempt };
  }

  @Process('flaky')
  flaky(job: Job<{ failUntil: number }>) {
    if (job.attempt < job.data.failUntil) throw new Error(`flaky attempt ${job.attempt}`);
    return 'finally';
  }

  @Process('poison')
  poison() {
    throw new UnrecoverableError('bad data');
  }

  @Process('sleepy')
  sleepy(job: Job<{ snoozes: number }>) {
    effects.push({ sleepy: job.attempt });
    if (effects.filter((e) => (e as { sleepy?: number }).sleepy !== undefined).length <= job.data.snoozes) return job.snooze(60_000);
    return 'awake';
  }
}

@Processor('audit')
@Injectable()
export class AuditProcessor {
  @Process('log')
  log(job: Job<{ what: string; at?: unknown }>) {
    effects.push({ audit: job.data.what, at: job.data.at });
  }
}

export const PRODUCTION_QUEUE_OPTIONS = {
  connection: { host: '127.0.0.1', port: 1, database: 'never', user: 'never' },
  queues: ['emails', 'audit'],
};

/**
 * Kept in a constant the test can name: Nest's overrideModule matches an import by reference, and
 * a dynamic module is a new object on each forRoot call (overrideModule(QueueModule) matches nothing).
 */
export const queueModule = QueueModule.forRoot(PRODUCTION_QUEUE_OPTIONS);

@Module({
  imports: [queueModule],
  providers: [SignupService, EmailProcessor, AuditProcessor],
})
export class AppModule {}

/** The same app without the queue module, for the imports-based recipe. */
@Module({ providers: [SignupService, EmailProcessor, AuditProcessor] })
export class FeatureModule {}
