import { describe, expect, it } from 'vitest';
import { AUTO_HOLD_MAX, HOLD_HORIZON_MAX_MS, HOLD_HORIZON_MS, HoldSizer } from '../../src/consumer/hold-sizer.js';

// The sizer alone (no database): what `prefetch: 'auto'` holds follows the measured attempt time and
// claim round trip. The end-to-end behaviour is in auto-prefetch.spec.ts.
describe('HoldSizer', () => {
  it('holds nothing until an attempt finishes, then what starts within the horizon at the slots\' turnover', () => {
    const sizer = new HoldSizer(10);
    expect(sizer.limit).toBe(0);
    sizer.finished(2); // 10 slots / 2 ms = 5 jobs per ms
    expect(sizer.horizonMs).toBe(HOLD_HORIZON_MS);
    expect(sizer.limit).toBe(5 * HOLD_HORIZON_MS);
  });

  it('stretches the horizon to a claim\'s round trip when claims take longer, up to the cap', () => {
    const sizer = new HoldSizer(10);
    sizer.finished(2);
    sizer.claimed(3); // shorter than the horizon: no change
    expect(sizer.limit).toBe(5 * HOLD_HORIZON_MS);
    const slow = new HoldSizer(10);
    slow.finished(2);
    slow.claimed(30); // many processes claiming on busy cores
    expect(slow.horizonMs).toBe(30);
    expect(slow.limit).toBe(5 * 30);
    for (let i = 0; i < 20; i++) slow.claimed(400);
    expect(slow.horizonMs).toBe(HOLD_HORIZON_MAX_MS);
    expect(slow.limit).toBe(5 * HOLD_HORIZON_MAX_MS);
  });

  it('never holds more than AUTO_HOLD_MAX, and holds nothing again after an expiry until an attempt finishes', () => {
    const sizer = new HoldSizer(1000);
    sizer.finished(0.01);
    sizer.claimed(40);
    expect(sizer.limit).toBe(AUTO_HOLD_MAX);
    sizer.expired();
    expect(sizer.limit).toBe(0);
    sizer.finished(0.01);
    expect(sizer.limit).toBe(AUTO_HOLD_MAX);
  });
});
