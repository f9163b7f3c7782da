import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseUrl, schemaScope } from '../helpers/db.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('a boot that fails (abortOnError: false)', () => {
  const { pool, fresh, dispose } = schemaScope('fb');
  afterAll(dispose);

  it('leaves nothing open: the process exits by itself although its pool keeps idle connections for a minute', async () => {
    const schema = fresh();
    const child = spawn(process.execPath, ['--import', './sample/register.mjs', 'test/producer/fixtures/failed-boot.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl(), SCHEMA: schema },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // Well under the pool's 60 s idle timeout: a lingering connection would hold the process past it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(timer);
    expect(out).toContain('boot failed: Forgotten has @Process methods but no @Processor');
    expect(code, out).toBe(0);
    // The migrations ran before the failure: the pool had connected (so there was something to close).
    expect((await pool.query(`SELECT count(*)::int AS n FROM ${schema}.migrations`)).rows[0].n).toBeGreaterThan(0);
  }, 45_000);
});
