import { Logger, type MessageEvent } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { Overview } from './dashboard-reads.js';

/** Points of lag history kept per queue: an hour at the default tick. */
const HISTORY = 1800;

export type LiveOverview = Overview & { lagHistory: Record<string, Array<[at: number, lagMs: number | null]>> };

/**
 * The live stream's one snapshot per tick, shared by every open page: one overview read per
 * `intervalMs` however many viewers, none when nobody watches. Each tick also records each
 * queue's lag, so the pages can draw it over time (since the first page was opened in this process).
 * States: idle (no viewer, no timer) -> ticking (a timer, one read at a time) -> stopped.
 */
export class LiveSnapshot {
  private readonly logger = new Logger('QueueDashboard');
  private readonly updates = new Subject<LiveOverview>();
  private readonly lagHistory = new Map<string, Array<[number, number | null]>>();
  private state: 'idle' | 'ticking' | 'stopped' = 'idle';
  private viewers = 0;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private latest: LiveOverview | null = null;
  private failing = false;
  /** Reads done, for tests and for the log of a failing tick. */
  reads = 0;

  constructor(
    private readonly read: () => Promise<Overview>,
    private readonly intervalMs: number,
  ) {}

  /** The server-sent events of one viewer: the latest snapshot at once, then one per tick. */
  stream(): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      if (this.state === 'stopped') {
        subscriber.complete();
        return;
      }
      // Completed by stop() (the app closing): the response ends, so the HTTP server can close.
      const sub = this.updates.subscribe({ next: (o) => subscriber.next({ data: o }), complete: () => subscriber.complete() });
      if (this.latest) subscriber.next({ data: this.latest });
      this.viewers++;
      if (this.state === 'idle') this.start();
      return () => {
        sub.unsubscribe();
        if (--this.viewers === 0 && this.state === 'ticking') this.pause();
      };
    });
  }

  stop(): void {
    this.pause();
    this.state = 'stopped';
    this.updates.complete();
  }

  private start(): void {
    this.state = 'ticking';
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  private pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.state === 'ticking') this.state = 'idle';
  }

  private async tick(): Promise<void> {
    // A slow database must not pile reads up: a tick that finds one in flight is skipped.
    if (this.reading) return;
    this.reading = true;
    try {
      const overview = await this.read();
      this.reads++;
      const at = Date.parse(overview.at);
      for (const [queue, counts] of Object.entries(overview.queues)) {
        let points = this.lagHistory.get(queue);
        if (!points) this.lagHistory.set(queue, (points = []));
        points.push([at, counts.lagMs]);
        if (points.length > HISTORY) points.splice(0, points.length - HISTORY);
      }
      this.latest = { ...overview, lagHistory: Object.fromEntries(this.lagHistory) };
      this.failing = false;
      if (this.state === 'ticking') this.updates.next(this.latest);
    } catch (err) {
      if (!this.failing) this.logger.warn(`live snapshot failed (the pages keep their last one): ${(err as Error).message}`);
      this.failing = true;
    } finally {
      this.reading = false;
    }
  }
}
