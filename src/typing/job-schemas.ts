import { Injectable } from '@nestjs/common';
import type { StandardSchemaV1 } from './standard-schema.js';

/**
 * The payload schemas of this process's handlers (`@Process(def)` or `{ schema }`), by queue and
 * name, filled at discovery: a `push('welcome', data)` of a name handled here is checked at push
 * as `push(welcomeJob, data)` is. A push from a process without the handler is checked at run.
 */
@Injectable()
export class JobSchemas {
  private readonly byKey = new Map<string, StandardSchemaV1>();

  set(queue: string, name: string, schema: StandardSchemaV1): void {
    this.byKey.set(`${queue}\0${name}`, schema);
  }

  get(queue: string, name: string): StandardSchemaV1 | undefined {
    return this.byKey.size === 0 ? undefined : this.byKey.get(`${queue}\0${name}`);
  }
}
