/** `nestjs-pg-queue/terminus`: the queue's health indicator, for apps that use @nestjs/terminus. */
export { QueueHealthIndicator, type QueueHealthOptions } from './queue-health.indicator.js';
