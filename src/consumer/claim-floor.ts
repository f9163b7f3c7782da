import type { ClaimedRow } from '../db/sql/claim-jobs.js';

/** A claim-order key: the last job a claim took (its run_at in epoch milliseconds). */
export interface FloorKey {
  priority: number;
  runAtMs: number;
  id: string;
}

/**
 * How long a floor serves after the full claim that set it. Anything that can put a claimable row
 * below the floor without waking the fetcher (a job handed back or rescued with its old run_at, a
 * transaction's push committed late, a row another claimer skipped and let go) waits at most this
 * long behind newer jobs; a NOTIFY, a poll tick or a due timer clears the floor at once.
 */
export const FLOOR_TTL_MS = 100;

/**
 * Where a queue's next claim starts reading the claim index. A claimed job's entry stays in that
 * index, dead, until VACUUM; a claim reads the index from the queue's start and steps over every
 * such entry. Draining a backlog, each claim stepped over all the jobs claimed before it
 * (`bench/probe-cpu.mjs` with auto_explain, 400,000 jobs: 172 index pages read per claim at the
 * start, 3,700 at three quarters, a quarter of the server's CPU). While a backlog lasts, a claim
 * starts where the last one ended instead.
 * States: none (the next claim reads from the start) -> set (after a full claim came back full)
 * -> none (a short claim, a wake from outside, a failure, a handed-back job, or FLOOR_TTL_MS after
 * the full claim that set it).
 */
export class ClaimFloor {
  private key: FloorKey | null = null;
  private expiresAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The floor the next claim starts from, or null: a full claim. */
  current(): FloorKey | null {
    if (this.key && this.now() >= this.expiresAt) this.key = null;
    return this.key;
  }

  /** A claim landed with `rows`; `full`: it took as many as it asked for; `from`: the floor it started from. */
  landed(rows: readonly ClaimedRow[], full: boolean, from: FloorKey | null): void {
    if (!full || rows.length === 0) {
      // The part of the queue after the floor is drained: what is left, if anything, lies before it.
      this.key = null;
      return;
    }
    const last = lastInClaimOrder(rows);
    if (from === null) {
      this.key = last;
      this.expiresAt = this.now() + FLOOR_TTL_MS;
    } else if (this.key !== null) {
      // The TTL counts from the full claim, so rows below the floor wait at most that long.
      this.key = last;
    }
  }

  clear(): void {
    this.key = null;
  }
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
