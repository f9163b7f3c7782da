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
 * or rescued with its old place, an operator's retry. Each of those sends a NOTIFY, and every
 * wake from outside the fetcher clears the floor; what could still be missed (a lost NOTIFY, a
 * row another claim skipped and let go) is found by the poll tick, which clears it too, as it
 * finds a job whose NOTIFY was lost. A timed expiry was measured and dropped: at 100 ms, the full
 * claims it forced with 2 processes were a third of all claims, each reading the whole dead run.
 * States: none (the next claim reads from the start) -> set (after a full claim came back full)
 * -> none (a short claim, a wake, a failure, a handed-back job).
 */
export class ClaimFloor {
  private key: FloorKey | null = null;
  /** Counts clears: a claim that was in flight across one must not set a floor. */
  private clears = 0;

  /** Where the next claim starts (`key` null: from the queue's start); hand it back to `landed`. */
  begin(): ClaimStart {
    return { key: this.key, clears: this.clears };
  }

  /** The claim begun at `start` landed with `rows`; `full`: it took as many as it asked for. */
  landed(start: ClaimStart, rows: readonly ClaimedRow[], full: boolean): void {
    if (!full || rows.length === 0) {
      // The part of the queue after the floor is drained: what is left, if anything, lies before it.
      this.clear();
      return;
    }
    // Cleared while the claim was in flight (a NOTIFY of a job it may not have seen): stay cleared.
    if (start.clears === this.clears) this.key = lastInClaimOrder(rows);
  }

  clear(): void {
    this.key = null;
    this.clears++;
  }
}

export interface ClaimStart {
  key: FloorKey | null;
  clears: number;
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
