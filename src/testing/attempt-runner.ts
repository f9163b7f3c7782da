import type { HandlerDefinition } from '../consumer/handler-definition.js';
import { progressJson, resultJson } from '../encoding/attempt-values.js';
import { JobPayloadError } from '../errors.js';
import type { Job } from '../job.interfaces.js';
import { JobSnooze, snoozeFor } from '../job-snooze.js';
import { checkPayload, issuesText } from '../typing/payload-check.js';

/** What one attempt gave: a result, a snooze (not counted), or an error (final when `unrecoverable`). */
export type AttemptOutcome =
  | { kind: 'done'; result: unknown }
  | { kind: 'snoozed'; delayMs: number }
  | { kind: 'failed'; error: Error; unrecoverable: boolean };

export interface AttemptInput {
  id: string;
  queue: string;
  name: string;
  /** Already JSON round-tripped, as a claimed row's payload is. */
  data: unknown;
  attempt: number;
  maxAttempts: number;
  priority: number;
  createdAt: Date;
  metadata: Record<string, unknown>;
  idempotencyKey: string | null;
  onProgress(value: unknown): void;
}

/**
 * Runs one attempt the way the worker does, minus the database: the handler's schema checks the
 * payload first (a refusal kills the job, as JobPayloadError does), the handler gets the schema's
 * output, a real AbortSignal, snooze and progress; its result must survive JSON.
 */
export async function runAttempt(handler: HandlerDefinition, input: AttemptInput): Promise<AttemptOutcome> {
  let data = input.data;
  if (handler.schema) {
    const checked = await checkPayload(handler.schema, data, 'data');
    if (checked.issues) {
      return { kind: 'failed', error: new JobPayloadError(input.id, input.name, checked.issues, issuesText(checked.issues)), unrecoverable: true };
    }
    data = checked.value;
  }
  // Aborted when the attempt ends, so a handler that left work listening on it is told to stop;
  // no timer backs it (timeoutMs is not enforced here), so nothing outlives the attempt.
  const controller = new AbortController();
  const job: Job = {
    id: input.id,
    queue: input.queue,
    name: input.name,
    data,
    attempt: input.attempt,
    maxAttempts: input.maxAttempts,
    priority: input.priority,
    runAt: input.createdAt,
    createdAt: input.createdAt,
    metadata: input.metadata,
    idempotencyKey: input.idempotencyKey,
    signal: controller.signal,
    snooze: snoozeFor,
    progress: (value: unknown) => input.onProgress(JSON.parse(progressJson(value))),
  };
  try {
    const returned = await handler.callback(job);
    if (isSnooze(returned)) return { kind: 'snoozed', delayMs: returned.delayMs };
    return { kind: 'done', result: JSON.parse(resultJson(returned ?? null)) };
  } catch (err) {
    if (isSnooze(err)) return { kind: 'snoozed', delayMs: err.delayMs };
    const error = err instanceof Error ? err : new Error(String(err));
    return { kind: 'failed', error, unrecoverable: isUnrecoverable(error) };
  } finally {
    controller.abort(new Error('attempt ended'));
  }
}

// By name as well as by class: an app may load a second copy of the package (a linked build).
function isSnooze(v: unknown): v is JobSnooze {
  return v instanceof JobSnooze || (v instanceof Error && v.name === 'JobSnooze' && typeof (v as JobSnooze).delayMs === 'number');
}

function isUnrecoverable(err: Error): boolean {
  for (let p: object | null = err; p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    if ((p as { constructor?: { name?: string } }).constructor?.name === 'UnrecoverableError') return true;
  }
  return false;
}
