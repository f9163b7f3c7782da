/** Held jobs are sized to start within this long at the measured rate. */
export const HOLD_HORIZON_MS = 10;
/**
 * The horizon stretches to a claim's measured round trip, up to this: a process whose claims take
 * 30 ms (many processes claiming on busy cores) runs dry between claims if it holds only 10 ms of
 * work, and no other process could start those jobs sooner, as its claims take as long.
 */
export const HOLD_HORIZON_MAX_MS = 50;
/** Held jobs none of which started for this long were misjudged (the handlers slowed down): they are handed back. */
export const HOLD_EXPIRY_MS = 4 * HOLD_HORIZON_MS;
/** The most `prefetch: 'auto'` holds, however fast the handlers. */
export const AUTO_HOLD_MAX = 1_000;
/** A measured start rate older than this is no longer trusted (the handlers may have changed). */
const RATE_STALE_MS = 1_000;
/** The shortest spell of holding that makes a start-rate sample. */
const MIN_SAMPLE_MS = 1;
const EWMA = 0.3;

/**
 * How many claimed jobs a worker with `prefetch: 'auto'` holds ahead of its free slots: what it
 * will start within HOLD_HORIZON_MS (or a claim's round trip, when that is longer). Two rates
 * bound that: the slots' turnover (concurrency over the mean attempt time), and the rate held
 * jobs were actually started at the last time some were held (the process's own CPU, the event
 * loop). Jobs that start within milliseconds cost little when held: another process could not
 * have started them much sooner, an urgent job arriving waits behind them for about the horizon,
 * and a crash strands no more than that.
 *
 * States: blind (no attempt finished yet: holds nothing) -> measuring; an expiry (no held job
 * started for HOLD_EXPIRY_MS, see Worker.expireHeld) returns it to blind until the next attempt
 * finishes, so a worker whose handlers all stalled stops claiming ahead instead of claiming and
 * handing back in a loop.
 */
export class HoldSizer {
  private meanAttemptMs = 0;
  private blind = true;
  private drainRate = 0;
  private drainMeasuredAt = Number.NEGATIVE_INFINITY;
  private holdingSince = 0;
  private startedWhileHolding = 0;
  private claimRoundTripMs = 0;

  constructor(private readonly concurrency: number) {}

  get limit(): number {
    if (this.blind) return 0;
    let rate = this.concurrency / Math.max(this.meanAttemptMs, 0.001);
    if (performance.now() - this.drainMeasuredAt < RATE_STALE_MS) rate = Math.min(rate, this.drainRate);
    return Math.min(AUTO_HOLD_MAX, Math.floor(rate * this.horizonMs));
  }

  /** How far ahead it holds: HOLD_HORIZON_MS, or a claim's round trip up to HOLD_HORIZON_MAX_MS. */
  get horizonMs(): number {
    return Math.min(HOLD_HORIZON_MAX_MS, Math.max(HOLD_HORIZON_MS, this.claimRoundTripMs));
  }

  /** A claim came back `durationMs` after it was sent. */
  claimed(durationMs: number): void {
    this.claimRoundTripMs = this.claimRoundTripMs === 0 ? durationMs : this.claimRoundTripMs + EWMA * (durationMs - this.claimRoundTripMs);
  }

  /** An attempt ended after `durationMs`. */
  finished(durationMs: number): void {
    this.meanAttemptMs = this.blind && this.meanAttemptMs === 0 ? durationMs : this.meanAttemptMs + EWMA * (durationMs - this.meanAttemptMs);
    this.blind = false;
  }

  /** The worker holds `held` jobs now, after starting `started` of them from the held ones. */
  holding(started: number, held: number, now = performance.now()): void {
    if (this.holdingSince === 0) {
      if (held > 0) this.holdingSince = now;
      return;
    }
    this.startedWhileHolding += started;
    const spell = now - this.holdingSince;
    if (held > 0 && spell < 10 * MIN_SAMPLE_MS) return;
    if (spell >= MIN_SAMPLE_MS && this.startedWhileHolding > 0) {
      const sample = this.startedWhileHolding / spell;
      const fresh = now - this.drainMeasuredAt < RATE_STALE_MS;
      this.drainRate = fresh ? this.drainRate + EWMA * (sample - this.drainRate) : sample;
      this.drainMeasuredAt = now;
    }
    this.startedWhileHolding = 0;
    this.holdingSince = held > 0 ? now : 0;
  }

  /** Held jobs waited past HOLD_EXPIRY_MS and were handed back. */
  expired(): void {
    this.blind = true;
    this.holdingSince = 0;
    this.startedWhileHolding = 0;
  }
}
