import type { ValidatedJob } from '../encoding/validated-job.js';

/** One push or pushMany call waiting for its rows to be written. */
interface Entry {
  jobs: ValidatedJob[];
  ids: string[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Pushes waiting to go out as one statement. */
interface Group {
  entries: Entry[];
  jobs: number;
  bytes: number;
}

/** What PushGroups asks of its sink. */
export interface GroupWriter {
  /** Writes the jobs in one INSERT statement on the pool (autocommit). */
  write: (jobs: ValidatedJob[], ids: string[]) => Promise<void>;
  /** Whether an error means the database could not be reached (the statement may have committed). */
  unreachable: (err: unknown) => boolean;
}

/**
 * Statements of pushes on the pool in flight at once, at most. A push while fewer are out goes
 * at once, so a lone push waits for nothing; the others wait for one to land and go together.
 */
export const GROUP_IN_FLIGHT = 2;
/** The most jobs, and payload and metadata characters, one grouped statement carries. */
export const GROUP_MAX_JOBS = 1_000;
export const GROUP_MAX_CHARS = 4_000_000;

/**
 * Group commit for the pushes of one queue outside a caller's transaction: while GROUP_IN_FLIGHT
 * INSERTs are out, further push and pushMany calls wait and then go as one INSERT, one commit and
 * one NOTIFY. Concurrent pushes (an HTTP handler each, a producer loop with several calls out)
 * otherwise each hold a connection for a statement and a commit of their own, queue behind one
 * another on the lock that commits holding a NOTIFY take, and contend for the same index and
 * heap pages (bench/probe-waits.mjs beside the steady-state scenario: `Lock:object` and
 * `LWLock:BufferContent` on INSERTs); with durability on, a group is one WAL flush.
 *
 * Each call keeps its own outcome: a grouped statement that fails with an error from the server
 * wrote nothing, so each of its calls is written again alone and gets its own result (a
 * duplicate id or idempotency key fails only its own call, as it would have alone). An error
 * that means the server was not reached fails every call of the group, each with its own ids (the
 * statement may have committed: sending it again could not tell).
 *
 * States: flowing (fewer than GROUP_IN_FLIGHT statements out: a call is sent at once) ->
 * grouping (that many out: calls join the newest open group) -> flowing when the groups are sent.
 */
export class PushGroups {
  private inFlight = 0;
  private readonly waiting: Group[] = [];

  constructor(private readonly writer: GroupWriter) {}

  /** Resolves once `jobs` are written under `ids`; rejects with what the statement that carried them raised. */
  write(jobs: ValidatedJob[], ids: string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = { jobs, ids, resolve, reject };
      const bytes = charsOf(jobs);
      if (this.inFlight < GROUP_IN_FLIGHT) {
        this.send({ entries: [entry], jobs: jobs.length, bytes });
        return;
      }
      const open = this.waiting[this.waiting.length - 1];
      if (open && open.jobs + jobs.length <= GROUP_MAX_JOBS && open.bytes + bytes <= GROUP_MAX_CHARS) {
        open.entries.push(entry);
        open.jobs += jobs.length;
        open.bytes += bytes;
      } else {
        this.waiting.push({ entries: [entry], jobs: jobs.length, bytes });
      }
    });
  }

  private send(group: Group): void {
    this.inFlight++;
    void this.run(group).finally(() => {
      this.inFlight--;
      const next = this.waiting.shift();
      if (next) this.send(next);
    });
  }

  private async run(group: Group): Promise<void> {
    const { entries } = group;
    if (entries.length === 1) {
      await this.alone(entries[0]);
      return;
    }
    const jobs: ValidatedJob[] = [];
    const ids: string[] = [];
    for (const e of entries) {
      for (const j of e.jobs) jobs.push(j);
      for (const id of e.ids) ids.push(id);
    }
    try {
      await this.writer.write(jobs, ids);
    } catch (err) {
      if (this.writer.unreachable(err)) {
        for (const e of entries) e.reject(err);
        return;
      }
      // The server refused the statement: nothing was written. Each call again, alone.
      for (const e of entries) await this.alone(e);
      return;
    }
    for (const e of entries) e.resolve();
  }

  private async alone(entry: Entry): Promise<void> {
    try {
      await this.writer.write(entry.jobs, entry.ids);
      entry.resolve();
    } catch (err) {
      entry.reject(err);
    }
  }
}

/** The characters a group's statement carries for these jobs (payload and metadata dominate). */
function charsOf(jobs: ValidatedJob[]): number {
  let n = 0;
  for (const j of jobs) n += j.payload.length + j.metadata.length;
  return n;
}
