/**
 * When a fetcher wakes besides a NOTIFY: every poll interval, once when the earliest known future
 * job is due (`wakeIn`), and at the end of the event loop's turn after slots free (`slotFreed`:
 * slots freed together, as short handlers finish in bursts, are refilled by one claim, not one
 * each). Owns those timers. States: stopped (initial) -> started -> stopped.
 */
export class WakeTimers {
  private pollTimer: NodeJS.Timeout | null = null;
  private dueTimer: NodeJS.Timeout | null = null;
  private dueAt = Number.POSITIVE_INFINITY;
  private slotWakePending = false;
  private started = false;

  constructor(
    private readonly pollIntervalMs: number,
    private readonly wake: () => void,
    /** What a freed slot calls: a refill, which keeps the fetcher's claim floor (a wake clears it). */
    private readonly refill: () => void,
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.pollTimer = setInterval(this.wake, this.pollIntervalMs);
  }

  stop(): void {
    this.started = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.pollTimer = this.dueTimer = null;
    this.dueAt = Number.POSITIVE_INFINITY;
  }

  /** Wake when a job becomes due in `delayMs` (a hint: polling still guarantees pickup). */
  wakeIn(delayMs: number): void {
    if (!this.started || !(delayMs >= 0)) return;
    const at = Date.now() + delayMs;
    if (this.dueTimer && at >= this.dueAt) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueAt = at;
    // Timers cap at ~24.8 days; a later job is found by polling anyway.
    this.dueTimer = setTimeout(() => {
      this.dueTimer = null;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.wake();
    }, Math.min(delayMs + 1, 2 ** 31 - 1));
  }

  /** Wake at the end of this turn of the event loop (once, however many slots free in it). */
  soon(): void {
    if (this.slotWakePending) return;
    this.slotWakePending = true;
    setImmediate(() => {
      this.slotWakePending = false;
      if (this.started) this.refill();
    });
  }
}
