import type { ReleasedJob } from '../db/sql/release-jobs.js';
import { HOLD_EXPIRY_MS } from './hold-sizer.js';
import type { Worker } from './worker.js';

/**
 * With `prefetch: 'auto'`, looks at the worker's held jobs every HOLD_EXPIRY_MS while it holds
 * some, and hands back those that stopped moving (see Worker.expireHeld). Without the timer a
 * worker whose handlers all stalled would keep its held jobs until one finished.
 * States: idle (nothing held, no timer) -> armed -> idle ...; stopped (final).
 */
export class HeldJobsWatch {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly worker: Worker,
    private readonly handBack: (jobs: ReleasedJob[]) => void,
  ) {}

  /** The worker may hold jobs now: check them in HOLD_EXPIRY_MS. */
  arm(): void {
    if (this.stopped || this.timer || this.worker.prefetchedCount === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const expired = this.worker.expireHeld();
      if (expired.length > 0) this.handBack(expired);
      this.arm();
    }, HOLD_EXPIRY_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
