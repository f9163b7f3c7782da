import { Logger } from '@nestjs/common';
import { describeTarget, type DatabaseTarget } from '../errors.js';
import { causeText, isUnavailable } from '../db/connection-errors.js';

/** What a component that talks to the database tells the reporter (the NotifyBus, workers, sinks). */
export interface OutageSignal {
  /**
   * A database call of `component` failed. True when `err` says the database is unreachable: the
   * reporter then logs `firstWarning` if this is the component's first failure of the outage, and
   * otherwise only counts it. False for any other error, which the caller logs as before.
   */
  failed(component: string, err: unknown, firstWarning: string): boolean;
  /**
   * A database call of `component` that began at `began` (Date.now()) succeeded. A call begun
   * before the outage says nothing about the database now, and is ignored.
   */
  succeeded(component: string, began: number): void;
}

/** Components whose calls come from users, not from a loop: any other component's success proves the database is back for them too. */
const ON_DEMAND = new Set(['pushes']);

interface Outage {
  since: number;
  /** Components that failed and have not succeeded since. */
  failing: Set<string>;
  /** Components whose first warning was logged. */
  warned: Set<string>;
  /** Failures by component since the last summary, and in all. */
  recent: Map<string, number>;
  total: number;
  lastError: string;
}

/**
 * One voice for a database outage, for every component of the module. While the database is
 * unreachable each component warns once, then one summary line comes every `intervalMs`
 * (failures by component, the last error); when every component that failed has succeeded again,
 * one "reconnected after N s" line ends it.
 * States: up -> down (outage) -> up; stop() is final and clears the summary timer.
 */
export class OutageReporter implements OutageSignal {
  private readonly logger = new Logger('QueueOutage');
  private outage: Outage | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly target: DatabaseTarget,
    private readonly intervalMs: number,
  ) {}

  /** True while an outage is under way. */
  get down(): boolean {
    return this.outage !== null;
  }

  failed(component: string, err: unknown, firstWarning: string): boolean {
    if (!isUnavailable(err)) return false;
    if (!this.outage) {
      this.outage = { since: Date.now(), failing: new Set(), warned: new Set(), recent: new Map(), total: 0, lastError: '' };
      if (!this.stopped) {
        this.timer = setInterval(() => this.summarise(), this.intervalMs);
        this.timer.unref();
      }
    }
    const o = this.outage;
    o.failing.add(component);
    o.recent.set(component, (o.recent.get(component) ?? 0) + 1);
    o.total++;
    o.lastError = causeText(err);
    if (!o.warned.has(component)) {
      o.warned.add(component);
      this.logger.warn(firstWarning);
    }
    return true;
  }

  succeeded(component: string, began: number): void {
    const o = this.outage;
    if (!o || began < o.since) return;
    o.failing.delete(component);
    if (!ON_DEMAND.has(component)) for (const c of ON_DEMAND) o.failing.delete(c);
    if (o.failing.size > 0) return;
    this.outage = null;
    this.clearTimer();
    this.logger.log(`database reconnected after ${seconds(Date.now() - o.since)} (${describeTarget(this.target)}): ${o.total} failed call(s) during the outage`);
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  private summarise(): void {
    const o = this.outage;
    if (!o) return this.clearTimer();
    const counts = [...o.recent].map(([c, n]) => `${c} ${n}`).join(', ') || 'none';
    this.logger.warn(
      `database still unavailable after ${seconds(Date.now() - o.since)} (${describeTarget(this.target)}): ` +
        `failed calls in the last ${seconds(this.intervalMs)}: ${counts}; last error: ${o.lastError}`,
    );
    o.recent.clear();
  }

  private clearTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
