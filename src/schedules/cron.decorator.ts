import { CRON_METADATA } from '../queue.tokens.js';
import type { ScheduleOptions } from './schedule-definition.js';

export interface CronMetadata {
  methodName: string | symbol;
  cron: string;
  options: ScheduleOptions;
}

/**
 * On a `@Process` method: enqueue that handler's job on a cron schedule, once per slot across
 * every process of the app (`@Cron('0 3 * * *', { tz: 'Europe/Berlin' })`). The expression has 5
 * fields, or 6 with seconds first. The schedule's key defaults to "<queue>:<job name>".
 */
export function Cron(expression: string, options: ScheduleOptions = {}): MethodDecorator {
  return (target: object, methodName: string | symbol) => {
    const ctor = target.constructor;
    const list: CronMetadata[] = Reflect.getOwnMetadata(CRON_METADATA, ctor) ?? [...(Reflect.getMetadata(CRON_METADATA, ctor) ?? [])];
    list.push({ methodName, cron: expression, options });
    Reflect.defineMetadata(CRON_METADATA, list, ctor);
  };
}
