import type { ClaimedRow } from '../db/sql/claim-jobs.js';

/** A job claimed ahead of a free slot (see `prefetch`), held in claim order until one frees. */
export interface Prefetched {
  row: ClaimedRow;
  lockedBy: string;
}

/**
 * The jobs a worker holds ahead of its free slots, in claim order, with a count per job name (the
 * handlers' own concurrency counts them). Suspended while the queue is paused: it then holds
 * nothing (`limit` 0) until resumed.
 */
export class PrefetchBuffer {
  private items: Prefetched[] = [];
  private readonly byName = new Map<string, number>();
  private suspendedValue = false;

  constructor(private readonly configured: number) {}

  /** How many it may hold: the queue's `prefetch`, or none while suspended. */
  get limit(): number {
    return this.suspendedValue ? 0 : this.configured;
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

  ids(): string[] {
    return this.items.map((p) => p.row.id);
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
  return b.priority - a.priority || a.run_at.getTime() - b.run_at.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
