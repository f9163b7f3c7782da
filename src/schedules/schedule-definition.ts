import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { didYouMean } from '../did-you-mean.js';
import { InvalidQueueOptionsError } from '../errors.js';
import { toJsonb } from '../encoding/jsonb.js';
import { queueNameProblem } from '../queue-name.js';

/** What happens to slots missed while no process ran (more than MISSED_AFTER_MS late). */
export type CatchUp = 'none' | 'latest' | { within: number };

/** The job a schedule enqueues at each slot, and when. */
export interface ScheduleOptions {
  /** IANA time zone the cron expression is read in. Default 'UTC'. */
  tz?: string;
  /** The schedule's identity (unique per schema). Default for @Cron: "<queue>:<job name>". */
  key?: string;
  /** The job's data. Default {}. */
  data?: unknown;
  priority?: number;
  maxAttempts?: number;
  /** Stored on the job beside `schedule` and `slot`, which the scheduler adds. */
  metadata?: Record<string, unknown>;
  /** Default 'latest': the most recent missed slot runs once. */
  catchUp?: CatchUp;
}

/** An entry of the module's `schedules` option: a schedule whose job is handled anywhere. */
export interface ScheduleConfig extends ScheduleOptions {
  key: string;
  cron: string;
  queue: string;
  /** The job name. */
  name: string;
}

export interface ScheduleDefinition {
  key: string;
  cron: string;
  tz: string;
  queue: string;
  name: string;
  template: { data: string; priority: number; maxAttempts: number | null; metadata: string };
  catchUp: CatchUp;
  hash: string;
  /** Where it was declared, for errors and logs ("schedules[2]", "@Cron on Reports.nightly"). */
  origin: string;
}

const OPTION_KEYS = ['tz', 'key', 'data', 'priority', 'maxAttempts', 'metadata', 'catchUp'];
const CONFIG_KEYS = [...OPTION_KEYS, 'cron', 'queue', 'name'];
const MAX_KEY_LENGTH = 200;
const MAX_TEMPLATE_BYTES = 64 * 1024;

/** A cron expression in a zone, as croner reads it; throws a readable Error. */
export function cronOf(expression: string, tz: string): Cron {
  return new Cron(expression, { timezone: tz, paused: true, mode: '5-or-6-parts' });
}

function fail(where: string, field: string, reason: string): never {
  throw new InvalidQueueOptionsError(`${where}.${field}`, reason);
}

/**
 * Checks one schedule, naming the schedule and the field (`schedule "reports:nightly".tz`):
 * the cron expression (5 fields, or 6 with seconds first), the zone, the key, the job template.
 */
export function defineSchedule(input: Record<string, unknown>, origin: string, allowed: string[]): ScheduleDefinition {
  for (const k of Object.keys(input)) {
    if (!allowed.includes(k)) throw new InvalidQueueOptionsError(`${origin}.${k}`, `is not a schedule option${didYouMean(k, allowed)}`);
  }
  const key = input.key;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || key.includes('\0')) {
    fail(origin, 'key', `must be a non-empty string of at most ${MAX_KEY_LENGTH} characters`);
  }
  const where = `schedule ${JSON.stringify(key)}`;
  const queueProblem = queueNameProblem(input.queue);
  if (queueProblem) fail(where, 'queue', queueProblem);
  if (typeof input.name !== 'string' || input.name.length === 0) fail(where, 'name', 'must be a non-empty job name');
  const tz = input.tz ?? 'UTC';
  if (typeof tz !== 'string') fail(where, 'tz', 'must be an IANA time zone name, e.g. "Europe/Berlin"');
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    fail(where, 'tz', `is not a time zone this Node knows: ${JSON.stringify(tz)} (an IANA name, e.g. "Europe/Berlin")`);
  }
  if (typeof input.cron !== 'string') fail(where, 'cron', 'must be a cron expression string, e.g. "0 3 * * *"');
  const fields = input.cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) fail(where, 'cron', `must have 5 fields (minute hour day month weekday) or 6 (seconds first), got ${fields}: ${JSON.stringify(input.cron)}`);
  try {
    cronOf(input.cron, tz);
  } catch (err) {
    fail(where, 'cron', `is not a valid cron expression: ${JSON.stringify(input.cron)} (${(err as Error).message})`);
  }
  const catchUp = input.catchUp ?? 'latest';
  const within = (catchUp as { within?: unknown })?.within;
  if (!(catchUp === 'none' || catchUp === 'latest' || (typeof catchUp === 'object' && catchUp !== null && Object.keys(catchUp).join() === 'within' && typeof within === 'number' && Number.isSafeInteger(within) && within > 0))) {
    fail(where, 'catchUp', "must be 'none', 'latest' or { within: ms } (a positive integer)");
  }
  const priority = input.priority ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority) || Math.abs(priority) > 2_147_483_647) fail(where, 'priority', 'must be an integer in int4 range');
  const maxAttempts = input.maxAttempts ?? null;
  if (maxAttempts !== null && (typeof maxAttempts !== 'number' || !Number.isSafeInteger(maxAttempts) || maxAttempts < 1)) fail(where, 'maxAttempts', 'must be an integer >= 1');
  const metadata = input.metadata ?? {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) fail(where, 'metadata', 'must be a plain JSON object');
  let data: string;
  let meta: string;
  try {
    data = toJsonb('data', input.data ?? {}, MAX_TEMPLATE_BYTES, true);
    meta = toJsonb('metadata', metadata, MAX_TEMPLATE_BYTES, true);
  } catch (err) {
    fail(where, (err as { field?: string }).field ?? 'data', (err as Error).message.replace(/^Invalid job: \S+ /, ''));
  }
  const template = { data, priority, maxAttempts: maxAttempts as number | null, metadata: meta };
  const hash = createHash('sha256').update(JSON.stringify([input.cron, tz, template, catchUp, input.queue, input.name])).digest('hex').slice(0, 16);
  return { key, cron: input.cron, tz, queue: input.queue as string, name: input.name, template, catchUp: catchUp as CatchUp, hash, origin };
}

/** The module's `schedules` option, checked; keys must be unique among themselves. */
export function resolveScheduleConfigs(value: unknown): ScheduleDefinition[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new InvalidQueueOptionsError('schedules', 'must be an array of { key, cron, queue, name, ... }');
  return value.map((entry, i) => {
    if (entry === null || typeof entry !== 'object') throw new InvalidQueueOptionsError(`schedules[${i}]`, 'must be an object { key, cron, queue, name, ... }');
    return defineSchedule(entry as Record<string, unknown>, `schedules[${i}]`, CONFIG_KEYS);
  });
}

export const CRON_OPTION_KEYS = OPTION_KEYS;
