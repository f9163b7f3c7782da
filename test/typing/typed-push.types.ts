/**
 * Compile-time checks of the typed API, verified by tsc (typed-push-compile.spec.ts): each
 * `@ts-expect-error` line must fail to compile, or tsc reports the directive as unused.
 */
import { z } from 'zod';
import { defineJob, type Job, type JobInput, type JobOutput, type QueueSink } from '../../src/index.js';

const welcomeJob = defineJob('welcome', z.object({ email: z.email(), locale: z.string().default('en') }));

export async function pushes(sink: QueueSink): Promise<void> {
  await sink.push(welcomeJob, { email: 'ada@example.com' });
  await sink.push(welcomeJob, { email: 'ada@example.com', locale: 'fr' });
  // @ts-expect-error a missing field
  await sink.push(welcomeJob, {});
  // @ts-expect-error a field of the wrong type
  await sink.push(welcomeJob, { email: 42 });
  // @ts-expect-error a field the schema does not have (an object literal's excess property)
  await sink.push(welcomeJob, { email: 'ada@example.com', emial: 'typo' });
  await sink.pushMany([{ name: welcomeJob, data: { email: 'b@example.com' } }]);
  // The untyped form keeps working.
  await sink.push('welcome', { anything: true });
}

export function handler(job: Job<JobOutput<typeof welcomeJob>>): string {
  // Output type: the default makes locale a string, never undefined.
  const locale: string = job.data.locale;
  return locale;
}

// Input type: locale is optional on the way in.
export const input: JobInput<typeof welcomeJob> = { email: 'c@example.com' };
