import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Starts the sample like `npm start` does (or through `npm start` itself), with the given environment. */
function start(env: Record<string, string | undefined>, viaNpm = false): Run {
  const baseEnv = { ...process.env };
  delete baseEnv.DATABASE_URL;
  const child = viaNpm
    ? spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...baseEnv, ...env } })
    : spawn(process.execPath, ['--import', './sample/register.mjs', 'sample/src/main.ts'], { cwd: ROOT, env: { ...baseEnv, ...env } });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exit };
}

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, () => resolve(srv));
  });
}

async function freePort(): Promise<number> {
  const srv = await listen();
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Ours, not npm's (npm may warn about its own config on stderr). */
const ownErrorLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm '));

async function waitListening(run: Run): Promise<string> {
  const m = await waitFor(
    'the sample to listen',
    () => {
      if (run.child.exitCode !== null) throw new Error(`exited early: ${run.stderr()}`);
      return /listening on (http:\/\/localhost:\d+)/.exec(run.stdout());
    },
    45_000,
    50,
  );
  return m[1];
}

/** Creates a user, waits for its welcome job to set welcomedAt, and returns the user's id. */
async function exercise(url: string): Promise<void> {
  const res = await fetch(`${url}/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ada@example.com' }),
  });
  expect(res.status).toBe(201);
  const { user, jobId } = (await res.json()) as { user: { id: string }; jobId: string };
  await waitFor('welcomedAt to be set', async () => ((await (await fetch(`${url}/users/${user.id}`)).json()) as { welcomedAt: string | null }).welcomedAt);
  // The handler sets welcomedAt before it returns; the job is marked done by the ack after that.
  await waitFor('the welcome job to be done', async () => ((await (await fetch(`${url}/jobs/${jobId}`)).json()) as { status: string }).status === 'done');
}

describe('sample app as a process (npm start)', () => {
  const pool = testPool(2);
  const schemas: string[] = [];

  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    for (const s of schemas) await dropSchema(pool, s);
    await pool.end();
  });

  it('serves on PORT against DATABASE_URL, and SIGTERM drains and exits 0', async () => {
    const schema = uniqueSchema('sproc');
    schemas.push(schema, `${schema}_q`);
    const port = await freePort();
    const run = start({ DATABASE_URL: databaseUrl(), PORT: String(port), APP_SCHEMA: schema, QUEUE_SCHEMA: `${schema}_q` }, true);
    const url = await waitListening(run);
    expect(url).toBe(`http://localhost:${port}`);
    // The hint follows the "listening" line, possibly in a later chunk of output: wait for it.
    await waitFor('the curl hint printed', () => /curl -s -X POST http:\/\/localhost:\d+\/users/.test(run.stdout()), 10_000, 20);
    await exercise(url);

    run.child.kill('SIGTERM');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toMatch(/SIGTERM: draining in-flight jobs/);
    expect(ownErrorLines(run.stderr())).toEqual([]);
  });

  it('a port already in use ends with one line on stderr and exit code 1', async () => {
    const srv = await listen();
    const { port } = srv.address() as { port: number };
    try {
      const run = start({ DATABASE_URL: databaseUrl(), PORT: String(port) });
      expect((await run.exit).code).toBe(1);
      expect(ownErrorLines(run.stderr())).toEqual([`error: port ${port} is already in use; set PORT to a free port`]);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it('an unreachable DATABASE_URL ends with one line on stderr and exit code 1', async () => {
    const deadPort = await freePort();
    const run = start({ DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${deadPort}/nope`, PORT: String(await freePort()) });
    expect((await run.exit).code).toBe(1);
    const lines = ownErrorLines(run.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^error: cannot connect to postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${deadPort}/nope: .*ECONNREFUSED`));
  });

  it('with DATABASE_URL unset it runs an embedded Postgres, and SIGINT stops it and exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sample-pgdata-'));
    try {
      const run = start({ SAMPLE_PGDATA: dataDir, PORT: String(await freePort()) });
      const url = await waitListening(run);
      expect(run.stdout()).toMatch(/starting an embedded Postgres/);
      expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(true);
      await exercise(url);

      run.child.kill('SIGINT');
      expect(await run.exit).toEqual({ code: 0, signal: null });
      expect(run.stdout()).toMatch(/Embedded Postgres stopped/);
      // The server is gone (it removes its pid file on a clean stop) and the data stays for the next run.
      expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      expect(ownErrorLines(run.stderr())).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
