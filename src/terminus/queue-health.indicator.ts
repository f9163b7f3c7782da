import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Pool } from 'pg';
import { quoteIdent } from '../db/identifier.js';
import { incidentFigures } from '../admin/incident-figures.js';
import { NotifyBus } from '../notify/notify-bus.js';
import { QueueOrchestrator } from '../queue.orchestrator.js';
import type { ResolvedQueueOptions } from '../queue.options.js';
import { QUEUE_POOL, QUEUE_RESOLVED_OPTIONS } from '../queue.tokens.js';

export interface QueueHealthOptions {
  /** Down when the LISTEN connection has been down longer than this. Default 30 s. */
  listenDownMs?: number;
  /** Down when this process's heartbeat is older than this. Default: the module's `orphanTimeoutMs` (its jobs are about to be rescued). */
  heartbeatStaleMs?: number;
  /** Degraded when a queue's oldest due job has waited longer than this (ms). Default: not checked. */
  maxLagMs?: number;
  /** Degraded when more running jobs than this have a worker that missed two heartbeats. Default: not checked. */
  maxStaleRunning?: number;
  /** How long the database may take to answer `SELECT 1`. Default 2 s. */
  timeoutMs?: number;
}

/**
 * A Terminus health indicator for the queue (`nestjs-pg-queue/terminus`): down when the pool
 * cannot query, the LISTEN connection has been down too long, or this process's heartbeat is
 * stale; degraded past the lag and stale-lease thresholds you give; up otherwise, with the
 * figures. Use it in a `@HealthCheck()` route: `() => this.queue.isHealthy('queue')`.
 */
@Injectable()
export class QueueHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(QUEUE_POOL) private readonly pool: Pool,
    @Inject(QUEUE_RESOLVED_OPTIONS) private readonly options: ResolvedQueueOptions,
    private readonly bus: NotifyBus,
    private readonly orchestrator: QueueOrchestrator,
  ) {}

  async isHealthy<const Key extends string = 'queue'>(key: Key = 'queue' as Key, o: QueueHealthOptions = {}) {
    const indicator = this.health.check(key);
    const s = quoteIdent(this.options.schema);
    try {
      await withTimeout(this.pool.query('SELECT 1'), o.timeoutMs ?? 2000);
    } catch (err) {
      return indicator.down({ database: 'unreachable', error: (err as Error).message });
    }
    const listenDownMs = this.bus.downForMs;
    if (listenDownMs !== null && listenDownMs > (o.listenDownMs ?? 30_000)) {
      return indicator.down({ listen: `down for ${Math.round(listenDownMs / 1000)} s` });
    }
    const heartbeatAgeMs = this.orchestrator.heartbeatAgeMs;
    if (heartbeatAgeMs !== null && heartbeatAgeMs > (o.heartbeatStaleMs ?? this.options.orphanTimeoutMs)) {
      return indicator.down({ heartbeat: `stale for ${Math.round(heartbeatAgeMs / 1000)} s` });
    }
    const names = [...this.options.queues.keys()];
    const figures = await incidentFigures(this.pool, s, names, this.options.heartbeatIntervalMs);
    const queues: Record<string, { lagMs: number | null; staleRunning: number }> = {};
    for (const q of names) queues[q] = { lagMs: figures.lagMs.get(q) ?? null, staleRunning: figures.staleRunning.get(q) ?? 0 };
    const problems: string[] = [];
    for (const [q, f] of Object.entries(queues)) {
      if (o.maxLagMs !== undefined && f.lagMs !== null && f.lagMs > o.maxLagMs) problems.push(`queue "${q}": oldest due job waiting ${f.lagMs} ms (> ${o.maxLagMs})`);
      if (o.maxStaleRunning !== undefined && f.staleRunning > o.maxStaleRunning) problems.push(`queue "${q}": ${f.staleRunning} running jobs with a stale worker (> ${o.maxStaleRunning})`);
    }
    const data = { queues, listen: this.bus.connected ? 'connected' : this.bus.wanted ? 'connecting' : 'not used', heartbeatAgeMs };
    return problems.length > 0 ? indicator.degraded({ ...data, problems }) : indicator.up(data);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}
