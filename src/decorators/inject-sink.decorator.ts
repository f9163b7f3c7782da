import { Inject } from '@nestjs/common';
import { getSinkToken } from '../queue.tokens.js';

/**
 * Every queue an `@InjectSink` asked for so far (decorators run when their class is defined, which
 * is before the app module's `QueueModule.forRoot()` is evaluated): `forRoot` gives the names it
 * does not register a provider that fails with a clear error, instead of Nest's "can't resolve".
 */
const requested = new Set<string>();

export function requestedSinkQueues(): ReadonlySet<string> {
  return requested;
}

/** Injects the `QueueSink` of `queue`. */
export const InjectSink = (queue: string): ParameterDecorator & PropertyDecorator => {
  requested.add(queue);
  return Inject(getSinkToken(queue));
};
