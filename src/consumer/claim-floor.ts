import type { ClaimedRow } from '../db/sql/claim-jobs.js';

/** A claim-order key: the last job a claim took (its run_at in epoch milliseconds). */
export interface FloorKey {
  priority: number;
  runAtMs: number;
  id: string;
}

/**
 * Where a queue's next claim starts reading the claim index. A claimed job's entry stays in that
 * index, dead, until VACUUM; a claim reads the index from the queue's start and steps over every
 * such entry. Draining a backlog, each claim stepped over all the jobs claimed before it
 * (`bench/probe-cpu.mjs` with auto_explain, 400,000 jobs: 172 index pages read per claim at the
 * start, 3,700 at three quarters, a quarter of the server's CPU). While a backlog lasts, a claim
 * starts where the last one ended instead.
 * A row can come back to the queue before the floor: a push committed late, a job handed back
 * or rescued with its old place, an operator's retry. Each of those sends a NOTIFY; a push's says
 * where its jobs sort (migration 0007), and clears the floor only if one sorts before it (pushes
 * under a steady load sort after it, so it survives them); every other NOTIFY and wake clears it.
 * What could still be missed (a lost NOTIFY, a row another claim skipped and let go) is found by
 * the poll tick, which clears it too, as it finds a job whose NOTIFY was lost. A timed expiry was measured and dropped: at 100 ms, the full
 * claims it forced with 2 processes were a third of all claims, each reading the whole dead run.
 * States: none (the next claim reads from the start) -> set (after a full claim came back full)
 * -> none (a short claim, a wake, a failure, a handed-back job).
 */
export class ClaimFloor {
  private key: FloorKey | null = null;
  /** Claims in flight: what was notified since each began. */
  private readonly inFlight = new Set<ClaimStart>();

  /** Where the next claim starts (`key` null: from the queue's start); hand it back to `landed`. */
  begin(): ClaimStart {
    const start: ClaimStart = { key: this.key, cleared: false, top: Number.NEGATIVE_INFINITY, firstMs: Number.POSITIVE_INFINITY };
    this.inFlight.add(start);
    return start;
  }

  /**
   * The claim begun at `start` landed with `rows`; `full`: it took as many as it asked for;
   * `everyName`: it asked for every name the worker handles. A claim for some names only (the
   * others' handlers had no room) passed over the other names' jobs: it leaves the floor as it is.
   */
  landed(start: ClaimStart, rows: readonly ClaimedRow[], full: boolean, everyName = true): void {
    this.inFlight.delete(start);
    if (!everyName) return;
    if (!full || rows.length === 0) {
      // The part of the queue after the floor is drained: what is left, if anything, lies before it.
      this.clear();
      return;
    }
    if (start.cleared) return;
    const last = lastInClaimOrder(rows);
    // New jobs notified while the claim was in flight, which it may not have seen, must stay
    // after the floor: if one sorts before its last row, the floor stays where it was.
    if (!sortsBefore(start.top, start.firstMs, last)) this.key = last;
  }

  /**
   * New jobs were notified: `top` their highest priority, `firstMs` their earliest run_at (both
   * absent from a NOTIFY that does not say, which clears the floor).
   */
  notified(top?: number, firstMs?: number): void {
    if (top === undefined || firstMs === undefined || this.key === null || sortsBefore(top, firstMs, this.key)) {
      this.clear();
      return;
    }
    for (const s of this.inFlight) {
      s.top = Math.max(s.top, top);
      s.firstMs = Math.min(s.firstMs, firstMs);
    }
  }

  /** Every claim from now on, and none in flight, reads from the queue's start until a full claim sets a floor. */
  clear(): void {
    this.key = null;
    for (const s of this.inFlight) s.cleared = true;
  }
}

export interface ClaimStart {
  readonly key: FloorKey | null;
  /** The floor was cleared while this claim was in flight: it sets none. */
  cleared: boolean;
  /** The highest priority and earliest run_at (ms) notified while it was in flight. */
  top: number;
  firstMs: number;
}

/**
 * Whether a new job of priority `top` and run_at `firstMs` (truncated to the millisecond) may sort
 * before `key`: a higher priority does, and so may a run_at in or before the key's millisecond
 * (the key's own run_at is truncated too, so the same millisecond is not known to be after it).
 */
function sortsBefore(top: number, firstMs: number, key: FloorKey): boolean {
  return top > key.priority || (top === key.priority && firstMs <= key.runAtMs);
}

/** The row a claim in order (priority DESC, run_at, id) would have taken last. */
function lastInClaimOrder(rows: readonly ClaimedRow[]): FloorKey {
  let last = rows[0]!;
  for (let i = 1; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.priority < last.priority || (r.priority === last.priority && (r.run_at > last.run_at || (r.run_at === last.run_at && r.id > last.id)))) last = r;
  }
  return { priority: last.priority, runAtMs: last.run_at, id: last.id };
}
