import { describe, expect, it } from 'vitest';
import { cronOf } from '../../src/schedules/schedule-definition.js';
import { MISSED_AFTER_MS, planSlots, slotsBetween } from '../../src/schedules/slots.js';

const at = (iso: string) => new Date(iso);
const iso = (ds: Date[]) => ds.map((d) => d.toISOString());
const berlin = (expr: string) => cronOf(expr, 'Europe/Berlin');

describe('schedule slots (computed, not waited for)', () => {
  it('spring forward in Europe/Berlin (2026-03-29, 02:00 -> 03:00): a skipped local time fires once, at the next valid time', () => {
    // 02:30 does not exist that day: it fires at 03:00 CEST (01:00Z), once; the days around are normal.
    expect(iso(slotsBetween(berlin('30 2 * * *'), at('2026-03-27T12:00:00Z'), at('2026-03-30T12:00:00Z')))).toEqual([
      '2026-03-28T01:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    // Hourly: 02:00 does not exist; 01:00 CET then 03:00 CEST, one hour of real time apart.
    expect(iso(slotsBetween(berlin('0 * * * *'), at('2026-03-28T23:30:00Z'), at('2026-03-29T02:30:00Z')))).toEqual([
      '2026-03-29T00:00:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T02:00:00.000Z',
    ]);
  });

  it('fall back in Europe/Berlin (2026-10-25, 03:00 -> 02:00): a fixed local time in the repeated hour fires once; a wildcard hour runs by the clock', () => {
    expect(iso(slotsBetween(berlin('30 2 * * *'), at('2026-10-24T12:00:00Z'), at('2026-10-26T12:00:00Z')))).toEqual([
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, the first one; 02:30 CET (01:30Z) does not fire again
      '2026-10-26T01:30:00.000Z',
    ]);
    expect(iso(slotsBetween(berlin('0,30 * * * *'), at('2026-10-24T23:45:00Z'), at('2026-10-25T02:00:00Z')))).toEqual([
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:00:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ]);
  });

  it('seconds are optional: a sixth field (first) is seconds', () => {
    expect(iso(slotsBetween(cronOf('*/20 * * * * *', 'UTC'), at('2026-01-01T00:00:00Z'), at('2026-01-01T00:01:00Z')))).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:40.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
  });

  describe('planSlots: what one step enqueues', () => {
    const hourly = cronOf('0 * * * *', 'UTC');
    const now = at('2026-05-01T10:00:00.200Z');
    const last = at('2026-05-01T06:00:00Z'); // 07:00, 08:00, 09:00 missed while no process ran

    it("on time: the due slot, enqueued ahead within the lookahead (its run_at is the slot, so it never runs early)", () => {
      const p = planSlots(hourly, at('2026-05-01T09:00:00Z'), at('2026-05-01T09:59:59.500Z'), 1000, 'latest');
      expect(iso(p.enqueue)).toEqual(['2026-05-01T10:00:00.000Z']);
      expect(p.considered?.toISOString()).toBe('2026-05-01T10:00:00.000Z');
      expect(p.next.toISOString()).toBe('2026-05-01T11:00:00.000Z');
    });

    it("catchUp 'latest' (the default): the most recent missed slot once, and the one on time", () => {
      const p = planSlots(hourly, last, now, 1000, 'latest');
      expect(iso(p.enqueue)).toEqual(['2026-05-01T09:00:00.000Z', '2026-05-01T10:00:00.000Z']);
      expect(p.considered?.toISOString()).toBe('2026-05-01T10:00:00.000Z');
    });

    it("catchUp 'none': skips to the next; the missed slots are considered, not enqueued", () => {
      const p = planSlots(hourly, last, now, 1000, 'none');
      expect(iso(p.enqueue)).toEqual(['2026-05-01T10:00:00.000Z']);
      const later = planSlots(hourly, last, at('2026-05-01T10:30:00Z'), 1000, 'none');
      expect(later.enqueue).toEqual([]);
      expect(later.considered?.toISOString()).toBe('2026-05-01T10:00:00.000Z');
      expect(later.next.toISOString()).toBe('2026-05-01T11:00:00.000Z');
    });

    it('catchUp { within }: every missed slot inside the window, oldest first', () => {
      const p = planSlots(hourly, last, now, 1000, { within: 2.5 * 3600 * 1000 });
      expect(iso(p.enqueue)).toEqual(['2026-05-01T08:00:00.000Z', '2026-05-01T09:00:00.000Z', '2026-05-01T10:00:00.000Z']);
    });

    it('a window over a frequent schedule is taken 1,000 slots a step, and the next step goes on', () => {
      const everySecond = cronOf('* * * * * *', 'UTC');
      const t = at('2026-05-01T12:00:00Z');
      const p = planSlots(everySecond, new Date(t.getTime() - 3600_000), t, 1000, { within: 3600_000 });
      expect(p.enqueue).toHaveLength(1000);
      const q = planSlots(everySecond, p.considered!, t, 1000, { within: 3600_000 });
      expect(q.enqueue[0].getTime()).toBe(p.considered!.getTime() + 1000);
    });

    it('a slot is missed only when more than MISSED_AFTER_MS late', () => {
      const slot = at('2026-05-01T10:00:00Z');
      const justLate = planSlots(hourly, at('2026-05-01T09:00:00Z'), new Date(slot.getTime() + MISSED_AFTER_MS - 1), 0, 'none');
      expect(iso(justLate.enqueue)).toEqual([slot.toISOString()]);
      const missed = planSlots(hourly, at('2026-05-01T09:00:00Z'), new Date(slot.getTime() + MISSED_AFTER_MS + 1), 0, 'none');
      expect(missed.enqueue).toEqual([]);
    });
  });
});
