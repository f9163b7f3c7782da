import type pg from 'pg';
import { JobOperations } from '../admin/job-operations.js';
import type { JobFilter } from '../admin/job-filter.js';
import { QueuePauses } from '../admin/queue-pauses.js';
import { controlChannel, jobsChannel, quoteIdent } from '../db/identifier.js';
import { Migrator } from '../db/migrator.js';
import { ScheduleOperations } from '../schedules/schedule-operations.js';
import type { JobStatus } from '../job.interfaces.js';

/** The CLI's operator verbs: what each takes (a job id, a queue, or a filter). */
export const VERBS = {
  cancel: 'id',
  retry: 'id',
  promote: 'id',
  delete: 'id',
  'cancel-many': 'filter',
  'retry-many': 'filter',
  'delete-many': 'filter',
  list: 'filter',
  pause: 'queue',
  resume: 'queue',
  schedules: 'none',
  'pause-schedule': 'schedule',
  'resume-schedule': 'schedule',
  'trigger-schedule': 'schedule',
} as const;
export type Verb = keyof typeof VERBS;

export const FILTER_FLAGS = {
  queue: { type: 'string' },
  name: { type: 'string' },
  status: { type: 'string', multiple: true },
  'created-after': { type: 'string' },
  'created-before': { type: 'string' },
  'finished-after': { type: 'string' },
  'finished-before': { type: 'string' },
  'key-prefix': { type: 'string' },
  limit: { type: 'string' },
  all: { type: 'boolean' },
  after: { type: 'string' },
  'page-size': { type: 'string' },
  order: { type: 'string' },
  reason: { type: 'string' },
  'reset-attempts': { type: 'boolean' },
} as const;

export type FlagValues = Partial<Record<keyof typeof FILTER_FLAGS, string | string[] | boolean>>;

export class VerbUsageError extends Error {}

function date(flag: string, v: unknown): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new VerbUsageError(`--${flag} must be a date (ISO 8601, e.g. 2026-12-01T00:00:00Z)`);
  return d;
}

function int(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new VerbUsageError(`--${flag} must be an integer`);
  return n;
}

/** A JobFilter from the flags; the library validates it (InvalidJobError names the field). */
function filterOf(f: FlagValues): JobFilter {
  const statuses = (f.status as string[] | undefined)?.flatMap((s) => s.split(',')).filter(Boolean);
  const filter: Record<string, unknown> = {
    queue: f.queue,
    name: f.name,
    status: statuses === undefined ? undefined : (statuses as JobStatus[]),
    createdAfter: date('created-after', f['created-after']),
    createdBefore: date('created-before', f['created-before']),
    finishedAfter: date('finished-after', f['finished-after']),
    finishedBefore: date('finished-before', f['finished-before']),
    idempotencyKeyPrefix: f['key-prefix'],
    limit: int('limit', f.limit),
    all: f.all === true ? true : undefined,
  };
  for (const k of Object.keys(filter)) if (filter[k] === undefined) delete filter[k];
  return filter as JobFilter;
}

/** Runs one verb; resolves to what it did (printed as JSON, or as `text`). */
export async function runVerb(pool: pg.Pool, schema: string, verb: Verb, target: string | undefined, f: FlagValues): Promise<{ json: unknown; text: string }> {
  await new Migrator(pool, schema).verify();
  const s = quoteIdent(schema);
  const channels = { jobs: jobsChannel(schema), control: controlChannel(schema) };
  const ops = new JobOperations(pool, s, channels);
  const pauses = new QueuePauses(pool, s, channels);
  const needs = VERBS[verb];
  const what = { id: 'job id', queue: 'queue name', schedule: 'schedule key' } as const;
  if ((needs === 'id' || needs === 'queue' || needs === 'schedule') && !target) throw new VerbUsageError(`${verb} needs a ${what[needs]}`);
  if ((needs === 'filter' || needs === 'none') && target) throw new VerbUsageError(`${verb} takes ${needs === 'filter' ? 'filter flags' : 'no argument'}, not "${target}"`);
  const schedules = new ScheduleOperations(pool, s, schema);
  switch (verb) {
    case 'cancel':
    case 'promote':
    case 'delete': {
      const r = await ops[verb](target!);
      return { json: r, text: `${r.id}: ${r.outcome.replaceAll('_', ' ')}${r.status ? ` (status ${r.status})` : ''}` };
    }
    case 'retry': {
      const r = await ops.retry(target!, { resetAttempts: f['reset-attempts'] === true });
      return { json: r, text: `${r.id}: ${r.outcome.replaceAll('_', ' ')}${r.status ? ` (status ${r.status})` : ''}` };
    }
    case 'cancel-many':
    case 'delete-many': {
      const r: { count: number; skippedRunning?: number } = verb === 'cancel-many' ? await ops.cancelMany(filterOf(f)) : await ops.deleteMany(filterOf(f));
      const skipped = r.skippedRunning ? ` (${r.skippedRunning} running left alone)` : '';
      return { json: r, text: `${verb === 'cancel-many' ? 'cancelled' : 'deleted'} ${r.count} job(s)${skipped}` };
    }
    case 'retry-many': {
      const r = await ops.retryMany(filterOf(f), { resetAttempts: f['reset-attempts'] === true });
      return { json: r, text: `retried ${r.count} job(s)` };
    }
    case 'list': {
      const page = { after: f.after as string | undefined, limit: int('page-size', f['page-size']), order: f.order as 'asc' | 'desc' | undefined };
      for (const k of Object.keys(page) as Array<keyof typeof page>) if (page[k] === undefined) delete page[k];
      const r = await ops.listJobs(filterOf(f), page);
      const lines = r.jobs.map((j) => `${j.id}  ${j.queue}  ${j.name}  ${j.status}  attempts ${j.attempts}  created ${j.createdAt.toISOString()}`);
      if (r.next) lines.push(`more: --after ${r.next}`);
      return { json: r, text: lines.length > 0 ? lines.join('\n') : 'no jobs match' };
    }
    case 'pause': {
      const r = await pauses.pause(target!, { reason: f.reason as string | undefined });
      return { json: r, text: `queue "${target}" paused${r.reason ? ` (${r.reason})` : ''}` };
    }
    case 'schedules': {
      const list = await schedules.listSchedules();
      const lines = list.map(
        (r) => `${r.key}  ${r.cron}  ${r.tz}  -> ${r.queue}/${r.name}  next ${r.nextSlot.toISOString()}  last ${r.lastEnqueuedSlot?.toISOString() ?? '-'}${r.paused ? '  paused' : ''}  (owner ${r.owner})`,
      );
      return { json: list, text: lines.length > 0 ? lines.join('\n') : 'no schedules' };
    }
    case 'pause-schedule':
    case 'resume-schedule': {
      const r = verb === 'pause-schedule' ? await schedules.pauseSchedule(target!) : await schedules.resumeSchedule(target!);
      const done = verb === 'pause-schedule' ? 'paused' : 'resumed';
      return { json: r, text: r ? `schedule "${target}" ${done}, next slot ${r.nextSlot.toISOString()}` : `schedule "${target}" not found${verb === 'resume-schedule' ? ' or not paused' : ''}` };
    }
    case 'trigger-schedule': {
      const id = await schedules.triggerNow(target!);
      return { json: { key: target, jobId: id }, text: id ? `schedule "${target}": job ${id} enqueued now` : `schedule "${target}" not found` };
    }
    case 'resume': {
      const resumed = await pauses.resume(target!);
      return { json: { queue: target, resumed }, text: resumed ? `queue "${target}" resumed` : `queue "${target}" was not paused` };
    }
  }
}
