import { z } from 'zod';
import { defineJob, type JobOutput } from '../../../src/index.js';

/**
 * The welcome job's name and payload schema in one place: `sink.push(welcomeJob, data)` checks
 * `data` at compile time and at push, and the worker checks it again before the handler runs.
 */
export const welcomeJob = defineJob('welcome', z.object({ userId: z.uuid(), email: z.email() }));
export type WelcomeJob = JobOutput<typeof welcomeJob>;
