import { Injectable, type INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import pg from 'pg';
import { Process, Processor, QueueAdmin, type Job } from '../../src/index.js';
import { createQueueApp, type TestQueueOptions } from '../helpers/app.js';
import { observeQueries, schemaScope } from '../helpers/db.js';
import { deferred } from '../helpers/wait.js';

/** Every handler start, with its time; a job's gate (by `data.key`) holds its handler. */
export const starts: Array<{ id: string; attempt: number; at: number; job: Job<OpsData> }> = [];
export const gates = new Map<string, ReturnType<typeof deferred<void>>>();
/** Keys whose handler throws on attempts up to the given number. */
export const failUntil = new Map<string, number>();

export interface OpsData {
  key?: string;
  ms?: number;
}

async function body(job: Job<OpsData>) {
  starts.push({ id: job.id, attempt: job.attempt, at: Date.now(), job });
  const gate = job.data.key !== undefined ? gates.get(job.data.key) : undefined;
  if (gate) await gate.promise;
  if (job.data.ms) await new Promise((r) => setTimeout(r, job.data.ms));
  if (job.data.key !== undefined && job.attempt <= (failUntil.get(job.data.key) ?? 0)) {
    throw new Error(`attempt ${job.attempt} of ${job.data.key} fails on purpose`);
  }
  return { attempt: job.attempt };
}

@Processor('ops')
@Injectable()
export class OpsProcessor {
  @Process('work', { backoff: { type: 'fixed', delayMs: 50 } })
  work(job: Job<OpsData>) {
    return body(job);
  }

  @Process('other')
  other(job: Job<OpsData>) {
    return body(job);
  }
}

@Processor('side')
@Injectable()
export class SideProcessor {
  @Process('work')
  work(job: Job<OpsData>) {
    return body(job);
  }
}

export const startedIds = () => starts.map((s) => s.id);

export function resetRecords(): void {
  starts.length = 0;
  gates.clear();
  failUntil.clear();
}

/** A pg.Pool (the module's `pool` option) that counts the claims it sends for each queue. */
export function countingPool(connectionString: string): { pool: pg.Pool; claims: Map<string, number> } {
  const pool = new pg.Pool({ connectionString, max: 6 });
  pool.on('error', () => undefined);
  const claims = new Map<string, number>();
  observeQueries(pool, (text, values) => {
    if (text.includes('FOR UPDATE SKIP LOCKED') && values) {
      // The claim's parameters: worker id, queue, names, limit, lease (see claim-jobs).
      const queue = values[values.length - 4] as string;
      claims.set(queue, (claims.get(queue) ?? 0) + 1);
    }
  });
  return { pool, claims };
}

/**
 * One app with OpsProcessor and SideProcessor on a fresh schema for a whole file, closed after
 * it; the handlers' records are reset before each test. Read `app`, `admin` and `schema` inside
 * tests (they are set in beforeAll).
 */
export function opsApp(prefix: string, options: Partial<TestQueueOptions>) {
  const scope = schemaScope(prefix);
  const ctx = { scope, schema: '', app: undefined as unknown as INestApplication, admin: undefined as unknown as QueueAdmin };
  beforeAll(async () => {
    ctx.schema = scope.fresh();
    ctx.app = await createQueueApp({ schema: ctx.schema, ...options }, [OpsProcessor, SideProcessor]);
    ctx.admin = ctx.app.get(QueueAdmin);
  });
  afterAll(async () => {
    await ctx.app?.close();
    await scope.dispose();
  });
  beforeEach(resetRecords);
  return ctx;
}
