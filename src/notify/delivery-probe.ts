import { randomBytes } from 'node:crypto';
import type { Logger } from '@nestjs/common';

/** What the last delivery check found: `unknown` until one has come back (or when there is none). */
export type NotifyDelivery = 'unknown' | 'verified' | 'failing';

export interface DeliveryProbeOptions {
  /** A channel the LISTEN connection listens on. */
  channel: string;
  /** Sends a NOTIFY the way the insert trigger's are sent: through the queue's pool. */
  notify: (channel: string, payload: string) => Promise<void>;
  timeoutMs: number;
  retryMs: number;
  logger: Logger;
  /** Called each time a probe comes back (delivery verified). */
  verified?: () => void;
}

const PREFIX = 'probe:';

/**
 * Checks that a NOTIFY sent through the queue's pool reaches the LISTEN connection. Through a
 * transaction-mode pooler, LISTEN succeeds and then silently receives nothing (the server
 * connection it ran on goes back to the pooler's pool), so pickup would wait for the poll with no
 * word why. Checked at every (re)connect; while it fails, again every `retryMs`.
 *
 * States: stopped (no live connection) -> awaiting (a probe sent, its echo expected within
 * `timeoutMs`) -> verified (done until the next start) | failing (a retry scheduled). The
 * warning is logged once per outage, the recovery once after it.
 */
export class DeliveryProbe {
  private nonce: string | null = null;
  private deadline: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private warned = false;
  private result: NotifyDelivery = 'unknown';

  constructor(private readonly options: DeliveryProbeOptions) {}

  get status(): NotifyDelivery {
    return this.result;
  }

  /** The connection is live (again): check it. */
  start(): void {
    this.stop();
    this.send();
  }

  /** The connection is gone: forget the probe in flight. */
  stop(): void {
    if (this.deadline) clearTimeout(this.deadline);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.deadline = this.retryTimer = null;
    this.nonce = null;
  }

  /** A NOTIFY on the probe's channel: true when it was a probe's (ours or another process's). */
  received(payload: string): boolean {
    if (!payload.startsWith(PREFIX)) return false;
    if (this.nonce === null || payload.slice(PREFIX.length) !== this.nonce) return true;
    this.stop();
    this.result = 'verified';
    this.options.verified?.();
    if (this.warned) this.options.logger.log('NOTIFY delivery to the LISTEN connection works again: pickup is instant');
    this.warned = false;
    return true;
  }

  private send(): void {
    const nonce = randomBytes(6).toString('hex');
    this.nonce = nonce;
    this.deadline = setTimeout(() => this.missed(nonce), this.options.timeoutMs);
    this.deadline.unref?.();
    this.options.notify(this.options.channel, PREFIX + nonce).catch((err) => {
      // Inconclusive (the pool cannot reach the server): its own errors say so. Try again later.
      if (this.nonce !== nonce) return;
      this.stop();
      this.options.logger.debug?.(`NOTIFY delivery check could not be sent: ${(err as Error).message}`);
      this.scheduleRetry();
    });
  }

  private missed(nonce: string): void {
    if (this.nonce !== nonce) return;
    this.stop();
    this.result = 'failing';
    if (!this.warned) {
      this.warned = true;
      this.options.logger.warn(
        `a NOTIFY sent through the queue's pool did not reach the LISTEN connection within ${this.options.timeoutMs} ms: ` +
          'LISTEN probably goes through a transaction-mode pooler (PgBouncer, RDS Proxy, Supabase or Neon pooler), where it receives nothing. ' +
          'Jobs are still picked up by polling (pollIntervalMs); for instant pickup point listenConnection at a direct session connection. ' +
          `Checking again every ${Math.round(this.options.retryMs / 1000)} s.`,
      );
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.send();
    }, this.options.retryMs);
    this.retryTimer.unref?.();
  }
}
