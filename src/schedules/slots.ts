import type { Cron } from 'croner';
import type { CatchUp } from './schedule-definition.js';

/** A slot more than this late (by the database's clock) was missed: the catch-up policy decides it. */
export const MISSED_AFTER_MS = 5_000;
/** At most this many slots are enqueued by one step (a `within` window over a frequent schedule). */
export const MAX_SLOTS_PER_STEP = 1_000;

export interface SlotPlan {
  /** Slots to enqueue, oldest first. */
  enqueue: Date[];
  /** The last slot this step considered (enqueued or skipped): the next step starts after it. */
  considered: Date | null;
  /** The first slot after `considered`. */
  next: Date;
}

/** The slots of `cron` in (after, until], oldest first, at most `max`. */
export function slotsBetween(cron: Cron, after: Date, until: Date, max = MAX_SLOTS_PER_STEP): Date[] {
  const out: Date[] = [];
  let t = after;
  for (;;) {
    const next = cron.nextRun(t);
    if (!next || next > until || out.length >= max) return out;
    out.push(next);
    t = next;
  }
}

/**
 * What one scheduler step does, at database time `now`: the slots due by `now + lookaheadMs`
 * after `last` (the last slot considered), minus what the catch-up policy skips among the missed
 * ones. Enqueuing ahead is safe: each job's `run_at` is its slot, so it is never run early.
 * Daylight-saving changes follow croner: a local time the clock skips fires once at the next valid
 * time; a fixed local time in a repeated hour fires once (an expression with a wildcard hour runs
 * by the clock through it).
 */
export function planSlots(cron: Cron, last: Date, now: Date, lookaheadMs: number, catchUp: CatchUp): SlotPlan {
  const missedBefore = now.getTime() - MISSED_AFTER_MS;
  const latestMissed = latestBefore(cron, missedBefore, last);
  let keep: Date[] = [];
  if (catchUp === 'latest' && latestMissed) keep = [latestMissed];
  if (typeof catchUp === 'object' && latestMissed) {
    const from = Math.max(last.getTime(), now.getTime() - catchUp.within - 1);
    keep = slotsBetween(cron, new Date(from), new Date(missedBefore - 1));
    // A window holding more slots than one step takes: the next step goes on from here.
    if (keep.length >= MAX_SLOTS_PER_STEP) return { enqueue: keep, considered: keep[keep.length - 1], next: cron.nextRun(keep[keep.length - 1])! };
  }
  const onTime = slotsBetween(cron, new Date(Math.max(last.getTime(), missedBefore - 1)), new Date(now.getTime() + lookaheadMs), MAX_SLOTS_PER_STEP - keep.length);
  const considered = onTime.length > 0 ? onTime[onTime.length - 1] : latestMissed;
  const next = cron.nextRun(considered ?? last) ?? new Date(8.64e15);
  return { enqueue: [...keep, ...onTime], considered, next };
}

/** The latest slot after `last` and before `before` (ms), or null. */
function latestBefore(cron: Cron, before: number, last: Date): Date | null {
  // previousRuns includes a run earlier in the reference's second: take two and keep the first before it.
  const found = cron.previousRuns(2, new Date(before)).find((d) => d.getTime() < before);
  return found && found > last ? found : null;
}
