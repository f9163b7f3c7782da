import { Inject } from '@nestjs/common';
import { getSinkToken } from '../queue.tokens.js';

/** Injects the `QueueSink` of `queue`. */
export const InjectSink = (queue: string): ParameterDecorator & PropertyDecorator => Inject(getSinkToken(queue));
