import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { QueueHealthIndicator } from '../../../src/terminus/index.js';

/** GET /health: 200 while the queue is up (or only degraded), 503 when it is down. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly queue: QueueHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.queue.isHealthy('queue', { listenDownMs: 10_000, maxLagMs: 60_000 })]);
  }
}
