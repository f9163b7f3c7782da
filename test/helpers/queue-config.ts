import { resolveQueueOptions, type QueueConfig, type ResolvedQueueConfig } from '../../src/queue.options.js';

/** A queue's resolved config, as the module builds it (defaults filled in), for tests that drive a Worker or Fetcher directly. */
export function queueConfig(config: QueueConfig): ResolvedQueueConfig {
  return resolveQueueOptions({ connection: {}, queues: [config] }).queues.get(config.name)!;
}
