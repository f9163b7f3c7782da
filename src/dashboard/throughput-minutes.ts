import type { Pool } from 'pg';
import { throughputSinceSql } from '../db/sql/dashboard.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** How often the whole hour is read again (late commits into older minutes are caught then). */
const FULL_EVERY = 5 * MINUTE;

export interface MinutePoint {
  minute: number;
  done: number;
  failed: number;
}

/**
 * Finished jobs per minute over the last hour, kept between reads: the whole hour is read at first
 * and every FULL_EVERY; in between only the current and the previous minute, whose counts replace
 * the kept ones (a minute is final once its last acks have committed, seconds after it ends). On a
 * table finishing a million jobs an hour, a tick then reads two minutes of index, not sixty.
 */
export class ThroughputMinutes {
  private readonly minutes = new Map<number, MinutePoint>();
  private fullAt = 0;

  constructor(
    private readonly pool: Pool,
    private readonly schemaSql: string,
  ) {}

  async read(now = Date.now()): Promise<MinutePoint[]> {
    const full = now - this.fullAt >= FULL_EVERY;
    const since = full ? now - HOUR : Math.floor(now / MINUTE) * MINUTE - MINUTE;
    const { rows } = await this.pool.query<{ minute: number; status: string; n: number }>(throughputSinceSql(this.schemaSql), [since]);
    if (full) {
      this.minutes.clear();
      this.fullAt = now;
    } else {
      for (const m of this.minutes.keys()) if (m >= since) this.minutes.delete(m);
    }
    for (const r of rows) {
      const point = this.minutes.get(r.minute) ?? { minute: r.minute, done: 0, failed: 0 };
      if (r.status === 'done') point.done = r.n;
      else point.failed = r.n;
      this.minutes.set(r.minute, point);
    }
    for (const m of this.minutes.keys()) if (m < now - HOUR) this.minutes.delete(m);
    return [...this.minutes.values()].sort((a, b) => a.minute - b.minute);
  }
}
