import { randomUUID } from 'node:crypto';
import { Body, ConflictException, Controller, Get, NotFoundException, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { DataSource, QueryFailedError } from 'typeorm';
import { InjectSink, QueueSink } from '../../../src/index.js';
import { welcomeJob } from '../emails/welcome.job.js';
import { parseCreateUser } from './create-user.js';
import { User } from './user.entity.js';

@Controller('users')
export class UsersController {
  constructor(
    @InjectSink('emails') private readonly emails: QueueSink,
    private readonly db: DataSource,
  ) {}

  /**
   * The user row and its `welcome` job are written in one transaction: both commit, or neither.
   * The job is pushed before the user is inserted on purpose, so that a duplicate email (which
   * fails the INSERT) shows the rollback taking the already-written job with it.
   */
  @Post()
  async create(@Body() body: unknown): Promise<{ user: { id: string; email: string }; jobId: string }> {
    const { email } = parseCreateUser(body); // 400 before anything is written
    const id = randomUUID();
    const qr = this.db.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    try {
      const jobId = await this.emails.push(welcomeJob, { userId: id, email }, { queryRunner: qr });
      await qr.manager.insert(User, { id, email });
      await qr.commitTransaction();
      return { user: { id, email }, jobId };
    } catch (err) {
      await qr.rollbackTransaction();
      if (err instanceof QueryFailedError && (err.driverError as { code?: string })?.code === '23505') {
        throw new ConflictException(`a user with email ${email} already exists`);
      }
      throw err;
    } finally {
      await qr.release();
    }
  }

  @Get(':id')
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<User> {
    const user = await this.db.getRepository(User).findOneBy({ id });
    if (!user) throw new NotFoundException(`no user ${id}`);
    return user;
  }
}
