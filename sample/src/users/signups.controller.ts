import { Body, ConflictException, Controller, Post } from '@nestjs/common';
import { QueryFailedError } from 'typeorm';
import { parseCreateUser } from './create-user.js';
import { SignupsService } from './signups.service.js';

@Controller('signups')
export class SignupsController {
  constructor(private readonly signups: SignupsService) {}

  /** POST /users with an ambient transaction (@Transactional() in SignupsService). */
  @Post()
  async create(@Body() body: unknown): Promise<{ user: { id: string; email: string }; jobId: string }> {
    const { email } = parseCreateUser(body);
    try {
      return await this.signups.signup(email);
    } catch (err) {
      if (err instanceof QueryFailedError && (err.driverError as { code?: string })?.code === '23505') {
        throw new ConflictException(`a user with email ${email} already exists`);
      }
      throw err;
    }
  }
}
