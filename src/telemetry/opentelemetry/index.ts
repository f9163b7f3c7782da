/**
 * `nestjs-pg-queue/opentelemetry`: traces and metrics through `@opentelemetry/api` (an optional
 * peer dependency). Pass `openTelemetry()` as the module's `telemetry` option.
 */
export { openTelemetry, type OpenTelemetryOptions } from './open-telemetry.js';
export type { ProducerContextMode } from './job-tracing.js';
export { producerContextOf, traceparentOf } from './trace-context.js';
