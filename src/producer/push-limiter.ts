/**
 * Caps how many of the queue pool's connections pushes hold at once, leaving the rest to this
 * process's worker. pg.Pool serves waiting queries first come, first served: a burst of pushes
 * (thousands of `push()` calls at once) would otherwise queue ahead of the worker's heartbeat,
 * acks and claims, delay the heartbeat past `orphanTimeoutMs`, and get the worker's running jobs
 * rescued and run twice (measured: a burst of 10,000 pushes on a pool of 4 held heartbeats back
 * for over 2 s, test/reliability/pool-pressure.spec.ts). Pushes beyond the cap wait here, in order.
 */
export class PushLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    /** Pushes running at once, at most (Infinity: no cap). */
    readonly limit: number,
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // The next waiter inherits this place: `active` stays as it is.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * The cap for a pool of `max` connections: all of them for a producer-only process, else one
 * fewer, so the worker always has a connection that no push can take.
 */
export function pushLimitFor(max: number, workers: boolean): number {
  return workers ? Math.max(1, max - 1) : Number.POSITIVE_INFINITY;
}
