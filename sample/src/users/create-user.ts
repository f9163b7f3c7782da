import { BadRequestException } from '@nestjs/common';

export interface CreateUser {
  email: string;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Validates the body of POST /users before anything is written; 400 otherwise. */
export function parseCreateUser(body: unknown): CreateUser {
  const email = (body as { email?: unknown } | null)?.email;
  if (typeof email !== 'string' || email.length > 254 || !EMAIL_RE.test(email.trim())) {
    throw new BadRequestException('email must be a valid email address');
  }
  return { email: email.trim().toLowerCase() };
}
