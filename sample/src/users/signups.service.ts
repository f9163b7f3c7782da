import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Transactional, TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterTypeOrm } from '@nestjs-cls/transactional-adapter-typeorm';
import { InjectSink, QueueSink } from '../../../src/index.js';
import { welcomeJob } from '../emails/welcome.job.js';
import { User } from './user.entity.js';

/**
 * The same signup as UsersController.create, written the @nestjs-cls/transactional way: no
 * QueryRunner. The push names no transaction, and the queue's `ambientTransactions:
 * clsTransactions()` option makes it join the one @Transactional() opened.
 */
@Injectable()
export class SignupsService {
  constructor(
    private readonly txHost: TransactionHost<TransactionalAdapterTypeOrm>,
    @InjectSink('emails') private readonly emails: QueueSink,
  ) {}

  @Transactional()
  async signup(email: string): Promise<{ user: { id: string; email: string }; jobId: string }> {
    const id = randomUUID();
    // Pushed first on purpose, as in UsersController: a duplicate email rolls the job back too.
    const jobId = await this.emails.push(welcomeJob, { userId: id, email });
    await this.txHost.tx.insert(User, { id, email });
    return { user: { id, email }, jobId };
  }
}
