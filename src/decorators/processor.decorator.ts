import { SetMetadata } from '@nestjs/common';
import { PROCESSOR_METADATA } from '../queue.tokens.js';
import type { ProcessOptions } from './process.decorator.js';

/** Defaults for every `@Process` method of the class; each method's own options win. */
export type ProcessorOptions = Pick<ProcessOptions, 'maxAttempts' | 'backoff' | 'timeoutMs'>;

export interface ProcessorMetadata {
  queue: string;
  options: ProcessorOptions;
}

/** Marks a provider whose `@Process` methods handle jobs of `queue`. */
export function Processor(queue: string, options: ProcessorOptions = {}): ClassDecorator {
  return SetMetadata(PROCESSOR_METADATA, { queue, options } satisfies ProcessorMetadata);
}
