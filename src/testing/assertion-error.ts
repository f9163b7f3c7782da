import { inspect } from 'node:util';
import type { RecordedJob } from './recorded-job.js';

/**
 * Thrown by the `QueueTester.expect*` helpers. Our own class (not vitest's or jest's) so the
 * testing module works under any runner; runners report any thrown Error as a failure.
 */
export class AssertionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssertionError';
  }
}

/** What `expectEnqueued` looks for: every given field must match; `data` matches partially. */
export interface JobMatcher {
  queue?: string;
  name?: string;
  /** A partial deep match: objects may have more keys, arrays must match element by element. */
  data?: unknown;
}

/** True when `actual` has every property of `expected` (recursively); arrays and leaves must be equal. */
export function partialMatch(actual: unknown, expected: unknown): boolean {
  if (Object.is(actual, expected)) return true;
  if (expected instanceof Date) return actual === expected.toISOString() || (actual instanceof Date && actual.getTime() === expected.getTime());
  if (typeof expected !== 'object' || expected === null || typeof actual !== 'object' || actual === null) return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => partialMatch(actual[i], e));
  }
  return Object.entries(expected).every(([k, v]) => partialMatch((actual as Record<string, unknown>)[k], v));
}

export function jobMatches(job: RecordedJob, m: JobMatcher): boolean {
  if (m.queue !== undefined && job.queue !== m.queue) return false;
  if (m.name !== undefined && job.name !== m.name) return false;
  return m.data === undefined || partialMatch(job.data, m.data);
}

/** The failure text: what was asked for, then every recorded job, so the mismatch is visible at a glance. */
export function describeMismatch(title: string, m: JobMatcher, jobs: readonly RecordedJob[]): string {
  const show = (v: unknown) => inspect(v, { depth: 6, breakLength: 120 });
  const lines = [`${title}`, `  expected: ${show(m)}`];
  if (jobs.length === 0) lines.push('  enqueued: (nothing)');
  else {
    lines.push(`  enqueued (${jobs.length}):`);
    for (const j of jobs) lines.push(`    - ${j.queue} / ${j.name} [${j.status}] data: ${show(j.data)}`);
  }
  return lines.join('\n');
}
