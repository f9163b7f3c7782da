import type { ClaimedRow } from '../db/sql/claim-jobs.js';
import type { HoldSizer } from './hold-sizer.js';

/** A job claimed ahead of a free slot (see `prefetch`), held in claim order until one frees. */
export interface Prefetched {
  row: ClaimedRow;
  lockedBy: string;
  /** performance.now() when it was claimed. */
  heldAt: number;
}

/**
 * The jobs a worker holds ahead of its free slots, in claim order, with a count per job name (the
 * handlers' own concurrency counts them). Its size is the queue's `prefetch`, or with 'auto' what
 * the HoldSizer says. Suspended while the queue is paused: it then holds nothing (`limit` 0) until
 * resumed.
 */
export class PrefetchBuffer {
  private items: Prefetched[] = [];
  private readonly byName = new Map<string, number>();
  private suspendedValue = false;

  constructor(private readonly configured: number | HoldSizer) {}

  /** How many it may hold: the queue's `prefetch` (or the sizer's figure), or none while suspended. */
  get limit(): number {
    if (this.suspendedValue) return 0;
    return typeof this.configured === 'number' ? this.configured : this.configured.limit;
  }

  /** The sizer when `prefetch` is 'auto'. */
  get sizer(): HoldSizer | null {
    return typeof this.configured === 'number' ? null : this.configured;
  }

  get suspended(): boolean {
    return this.suspendedValue;
  }

  set suspended(value: boolean) {
    this.suspendedValue = value;
  }

  get length(): number {
    return this.items.length;
  }

  at(i: number): Prefetched {
    return this.items[i];
  }

  countFor(name: string): number {
    return this.byName.get(name) ?? 0;
  }

  all(): readonly Prefetched[] {
    return this.items;
  }

  has(test: (p: Prefetched) => boolean): boolean {
    return this.items.some(test);
  }

  add(p: Prefetched): void {
    this.items.push(p);
    this.byName.set(p.row.name, this.countFor(p.row.name) + 1);
  }

  /** Claim order: priority, then run_at, then id (as the claim statement orders them). */
  sort(): void {
    if (this.items.length > 1) this.items.sort((a, b) => claimOrder(a.row, b.row));
  }

  /** Takes out the job at `i`. */
  removeAt(i: number): Prefetched {
    const [p] = this.items.splice(i, 1);
    this.forget(p);
    return p;
  }

  /** Takes out everything past the first `keep`. */
  trimTo(keep: number): Prefetched[] {
    const over = this.items.splice(keep);
    for (const p of over) this.forget(p);
    return over;
  }

  /** Takes out the jobs held since before `before`. */
  takeStale(before: number): Prefetched[] {
    const kept: Prefetched[] = [];
    const taken: Prefetched[] = [];
    for (const p of this.items) (p.heldAt < before ? taken : kept).push(p);
    if (taken.length === 0) return taken;
    this.items = kept;
    for (const p of taken) this.forget(p);
    return taken;
  }

  /** Empties it; returns what it held. */
  takeAll(): Prefetched[] {
    const held = this.items;
    this.items = [];
    this.byName.clear();
    return held;
  }

  private forget(p: Prefetched): void {
    this.byName.set(p.row.name, this.countFor(p.row.name) - 1);
  }
}

function claimOrder(a: ClaimedRow, b: ClaimedRow): number {
  return b.priority - a.priority || a.run_at - b.run_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
