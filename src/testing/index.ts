export { QueueTestingModule } from './queue-testing.module.js';
export { QueueTester } from './queue-tester.js';
export { TestingSink } from './testing-sink.js';
export { AssertionError, partialMatch, type JobMatcher } from './assertion-error.js';
export type { QueueTestingModuleOptions } from './testing-options.js';
export type { DrainSummary, RecordedJob, TestingMode } from './recorded-job.js';
