import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { FixtureCommand, FixtureConfig, FixtureEvent } from '../fixtures/worker-app.js';
import { ensureFixtureBuilt, REPO_ROOT } from './build.js';

/** `npm run soak` sets RELIABILITY_SCALE=10: every scenario's job count is multiplied by it. */
export const SCALE = Math.max(1, Number(process.env.RELIABILITY_SCALE ?? 1) || 1);
export const scaled = (n: number): number => Math.round(n * SCALE);
/** Per-test timeout that grows with the scale. */
export const timeoutFor = (baseMs: number): number => baseMs * SCALE;

export type FixtureOptions = Omit<FixtureConfig, 'databaseUrl' | 'schema' | 'tag'> & { tag?: string; clockSkewMs?: number };

/** A running fixture process: send commands, wait for events, inject signals. */
export class FixtureProcess {
  readonly child: ChildProcess;
  readonly tag: string;
  readonly output: string[] = [];
  readonly events: FixtureEvent[] = [];
  readonly fatals: Array<Extract<FixtureEvent, { type: 'fatal' }>> = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<{ test: (e: FixtureEvent) => boolean; resolve: (e: FixtureEvent) => void }>();
  private nextReq = 1;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readyEvent!: Extract<FixtureEvent, { type: 'ready' }>;

  constructor(entry: string, config: FixtureConfig, clockSkewMs = 0) {
    this.tag = config.tag;
    this.child = fork(entry, [], {
      cwd: REPO_ROOT,
      env: { ...process.env, FIXTURE_CONFIG: JSON.stringify(config), FIXTURE_CLOCK_SKEW_MS: String(clockSkewMs) },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
    });
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.output.push(line);
      if (process.env.RELIABILITY_LOGS) process.stderr.write(`[${this.tag}] ${chunk}`);
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.child.on('message', (e: FixtureEvent) => {
      this.events.push(e);
      if (e.type === 'fatal') this.fatals.push(e);
      for (const w of [...this.waiters]) {
        if (w.test(e)) {
          this.waiters.delete(w);
          w.resolve(e);
        }
      }
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exitInfo === null;
  }

  /** Resolves with the first event (past or future) that passes `test`; rejects on exit or timeout. */
  waitEvent<T extends FixtureEvent>(what: string, test: (e: FixtureEvent) => boolean, timeoutMs = 30_000, includePast = true): Promise<T> {
    if (includePast) {
      const past = this.events.find(test);
      if (past) return Promise.resolve(past as T);
    }
    return new Promise<T>((resolve, reject) => {
      const w = { test, resolve: (e: FixtureEvent) => (clearTimeout(timer), resolve(e as T)) };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`${this.tag}: timed out after ${timeoutMs} ms waiting for ${what}\n${this.tail()}`));
      }, timeoutMs);
      this.waiters.add(w);
      void this.exited.then((x) => {
        if (!this.waiters.has(w)) return;
        this.waiters.delete(w);
        clearTimeout(timer);
        reject(new Error(`${this.tag}: exited (${x.code ?? x.signal}) while waiting for ${what}\n${this.tail()}`));
      });
    });
  }

  async ready(timeoutMs = 60_000): Promise<this> {
    const e = await this.waitEvent<Extract<FixtureEvent, { type: 'ready' }>>(
      'ready',
      (ev) => ev.type === 'ready' || (ev.type === 'fatal' && ev.kind === 'bootstrap'),
      timeoutMs,
    );
    if ((e as FixtureEvent).type === 'fatal') throw new Error(`${this.tag} failed to boot: ${(e as unknown as { message: string }).message}`);
    this.readyEvent = e;
    return this;
  }

  /** Sends a command and resolves with its reply value. */
  async request<T = unknown>(cmd: DistributiveOmit<FixtureCommand, 'reqId'>, timeoutMs = 120_000): Promise<T> {
    const reqId = this.nextReq++;
    const reply = this.waitEvent<Extract<FixtureEvent, { type: 'reply' }>>(
      `reply to ${cmd.cmd}`,
      (e) => e.type === 'reply' && e.reqId === reqId,
      timeoutMs,
      false,
    );
    this.child.send({ ...cmd, reqId } as FixtureCommand);
    const r = await reply;
    if (!r.ok) throw new Error(`${this.tag}: ${cmd.cmd} failed: ${r.error}`);
    return r.value as T;
  }

  whoami(): Promise<string> {
    return this.request<string>({ cmd: 'whoami' });
  }

  /** Graceful close (app.close()); falls back to SIGKILL. */
  async close(timeoutMs = 20_000): Promise<void> {
    if (!this.alive) return;
    try {
      this.child.kill('SIGCONT');
      await this.request({ cmd: 'close' }, timeoutMs);
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, timeoutMs))]);
    } catch {
      // fall through
    }
    if (this.alive) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  tail(n = 30): string {
    return this.output.slice(-n).join('\n');
  }
}

type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

/** One scenario's world: a schema with a ledger table, its fixture processes, cleanup. */
export class Scenario {
  readonly schema: string;
  readonly s: string;
  readonly processes: FixtureProcess[] = [];
  private readonly entry: string;

  constructor(
    readonly databaseUrl: string,
    readonly pool: pg.Pool,
    prefix: string,
  ) {
    this.schema = `rel_${prefix}_${randomBytes(4).toString('hex')}`;
    this.s = pg.escapeIdentifier(this.schema);
    this.entry = ensureFixtureBuilt();
  }

  /** Creates the schema and the ledger; the fixture's first boot applies the migrations. */
  async setup(): Promise<void> {
    await this.pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.s}.ledger (
      seq bigserial PRIMARY KEY,
      job_id text COLLATE "C" NOT NULL, -- the collation of jobs.id, so lookups by job id can use the index
      attempt int NOT NULL,
      pid int NOT NULL,
      worker text,
      queue text NOT NULL,
      name text NOT NULL,
      started_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )`);
    // The verdict queries look runs up by job id; without this index the "lost" count is a
    // nested loop over the whole ledger per job, quadratic at soak sizes (200,000 jobs).
    await this.pool.query(`CREATE INDEX IF NOT EXISTS ledger_job_id_idx ON ${this.s}.ledger (job_id)`);
  }

  spawn(options: FixtureOptions): FixtureProcess {
    const tag = options.tag ?? `${this.schema}-${options.role}-${this.processes.length}`;
    const { clockSkewMs, ...rest } = options;
    const p = new FixtureProcess(this.entry, { ...rest, tag, databaseUrl: this.databaseUrl, schema: this.schema }, clockSkewMs ?? 0);
    this.processes.push(p);
    return p;
  }

  async teardown(dropSchema = true): Promise<void> {
    await Promise.all(this.processes.map((p) => p.close().catch(() => undefined)));
    if (dropSchema) await this.pool.query(`DROP SCHEMA IF EXISTS ${this.s} CASCADE`).catch(() => undefined);
  }

  /** Every fatal event of every process (an unhandled error, a rejected promise, a failed boot). */
  fatals(): string[] {
    return this.processes.flatMap((p) => p.fatals.map((f) => `${p.tag}: ${f.kind}: ${f.message}`));
  }

  async count(sql: string, params: unknown[] = []): Promise<number> {
    const r = await this.pool.query(sql.replaceAll('$S', this.s), params);
    return Number(Object.values(r.rows[0] ?? { n: 0 })[0]);
  }

  async statusCounts(): Promise<Record<string, number>> {
    const r = await this.pool.query(`SELECT status, count(*)::int AS n FROM ${this.s}.jobs GROUP BY status`);
    return Object.fromEntries(r.rows.map((x) => [x.status, x.n]));
  }

  /** Polls until every job is done (or the deadline passes), returning the final status counts. */
  async waitAllDone(expected: number, timeoutMs: number, what = 'every job done'): Promise<Record<string, number>> {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, number> = {};
    for (;;) {
      last = await this.statusCounts();
      if ((last.done ?? 0) >= expected && Object.keys(last).every((k) => k === 'done')) return last;
      for (const p of this.processes) if (p.fatals.length) throw new Error(`${p.tag} reported: ${p.fatals[0].message}`);
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(last)} of ${expected}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The ledger's verdict: runs, distinct ids, ids run more than once (with their runs). */
  async ledger(): Promise<{ runs: number; distinct: number; twice: Map<string, Array<{ pid: number; attempt: number; worker: string | null; started_at: Date }>> }> {
    const totals = await this.pool.query(`SELECT count(*)::int AS runs, count(DISTINCT job_id)::int AS distinct FROM ${this.s}.ledger`);
    const dups = await this.pool.query(
      `SELECT job_id, pid, attempt, worker, started_at FROM ${this.s}.ledger
       WHERE job_id IN (SELECT job_id FROM ${this.s}.ledger GROUP BY job_id HAVING count(*) > 1) ORDER BY job_id, seq`,
    );
    const twice = new Map<string, Array<{ pid: number; attempt: number; worker: string | null; started_at: Date }>>();
    for (const r of dups.rows) {
      if (!twice.has(r.job_id)) twice.set(r.job_id, []);
      twice.get(r.job_id)!.push({ pid: r.pid, attempt: r.attempt, worker: r.worker, started_at: r.started_at });
    }
    return { runs: totals.rows[0].runs, distinct: totals.rows[0].distinct, twice };
  }

  /** Jobs that exist and are done but have no ledger row (must be 0), and ledger ids with no job. */
  async lost(): Promise<number> {
    return this.count(`SELECT count(*) FROM $S.jobs j WHERE NOT EXISTS (SELECT 1 FROM $S.ledger l WHERE l.job_id = j.id) OR j.status <> 'done'`);
  }

  /** Backends of one fixture process (by application_name prefix). */
  async backends(tag: string, kind?: 'queue' | 'listen' | 'ledger'): Promise<number[]> {
    const r = await this.pool.query(
      `SELECT pid FROM pg_stat_activity WHERE application_name ${kind ? '= $1' : 'LIKE $1'}`,
      [kind ? `${tag}-${kind}` : `${tag}-%`],
    );
    return r.rows.map((x) => x.pid);
  }

  /**
   * Waits until no backend of `tag` is running a statement and none has changed state for 50 ms.
   * After a SIGSTOP of that process, this is the moment its database state is frozen: what it sent
   * before the signal has landed, and it cannot send anything more until SIGCONT.
   */
  async settled(tag: string, timeoutMs = 5_000): Promise<void> {
    await until(
      `the backends of ${tag} to settle`,
      async () => {
        const r = await this.pool.query(
          `SELECT count(*) FILTER (WHERE state = 'active')::int AS active,
                  coalesce(max(state_change) > clock_timestamp() - interval '50 milliseconds', false) AS recent
           FROM pg_stat_activity WHERE application_name LIKE $1`,
          [`${tag}-%`],
        );
        return r.rows[0].active === 0 && !r.rows[0].recent;
      },
      timeoutMs,
      10,
    );
  }

  /**
   * Stops `proc` (SIGSTOP) at a moment when `holds()` is true of its frozen database state:
   * stop, wait for its backends to settle, ask; if not, SIGCONT and try again a little later.
   * Establishes the precondition of a fault instead of assuming it (the process keeps working
   * between tries). Each stop is short (well under orphanTimeoutMs), so no try costs it its lease.
   * Returns with `proc` stopped; the caller SIGKILLs or SIGCONTs it.
   */
  async stopWhen(proc: FixtureProcess, what: string, holds: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    await until(
      what,
      async () => {
        proc.kill('SIGSTOP');
        let ok = false;
        try {
          await this.settled(proc.tag, 1000);
          ok = await holds();
        } finally {
          if (!ok) proc.kill('SIGCONT');
        }
        return ok;
      },
      timeoutMs,
      50,
    );
  }

  /**
   * Pushes batches of work through `producer` until `proc` has run one of them: a ledger row of its
   * pid started after `since` (and under `worker`, if given). Each batch is awaited until done
   * before the next. "It goes on working" is then a fact established with a deadline, not a
   * share of one batch that another process could have taken whole. Returns the ids it pushed.
   */
  async pushUntilRunBy(
    producer: FixtureProcess,
    queue: string,
    proc: FixtureProcess,
    since: Date,
    options: { worker?: string; batch?: number; data?: unknown; timeoutMs?: number } = {},
  ): Promise<string[]> {
    const { worker, batch = 20, data = { sleepMs: 10 }, timeoutMs = 60_000 } = options;
    const ranSince = () =>
      this.count(`SELECT count(*) FROM $S.ledger WHERE pid = $1 AND started_at > $2${worker ? ' AND worker = $3' : ''}`, worker ? [proc.pid, since, worker] : [proc.pid, since]);
    const pushed: string[] = [];
    const deadline = Date.now() + timeoutMs;
    while ((await ranSince()) === 0) {
      if (Date.now() > deadline) throw new Error(`${proc.tag} ran no job after ${since.toISOString()} in ${timeoutMs} ms (${pushed.length} jobs pushed meanwhile)`);
      const ids = await producer.request<string[]>({ cmd: 'push', queue, jobs: Array.from({ length: batch }, () => ({ name: 'work', data })) });
      pushed.push(...ids);
      await until('a batch to be done', async () => (await this.count(`SELECT count(*) FROM $S.jobs WHERE id = ANY($1) AND status = 'done'`, [ids])) === ids.length, Math.max(1, deadline - Date.now()), 20);
    }
    return pushed;
  }

  /** pg_terminate_backend on every backend of `tag` (optionally of one kind); returns how many. */
  async terminate(tag: string, kind?: 'queue' | 'listen' | 'ledger'): Promise<number> {
    const r = await this.pool.query(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name ${kind ? '= $1' : 'LIKE $1'}`,
      [kind ? `${tag}-${kind}` : `${tag}-%`],
    );
    return r.rows[0].n;
  }
}

/** Polls until `check` is truthy, with a deadline (no fixed sleeps). */
export async function until<T>(what: string, check: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A row for the README table, printed by each scenario so soak runs report their numbers. */
export function report(row: { scenario: string; jobs: number; processes: number; faults: string; lost: number; twice: number; extra?: string }): void {
  console.log(`[reliability] ${JSON.stringify(row)}`);
}
