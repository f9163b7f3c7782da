import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../src/db/migrator.js';
import { getSinkToken, type QueueSink } from '../../src/index.js';
import { createQueueApp } from '../helpers/app.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { cli } from './cli-run.js';

describe('CLI: nestjs-pg-queue', () => {
  const pool = testPool(2);
  const schemas: string[] = [];
  const newSchema = () => {
    const s = uniqueSchema('cli');
    schemas.push(s);
    return s;
  };

  afterAll(async () => {
    for (const s of schemas) await dropSchema(pool, s);
    await pool.end();
  });

  it.each([
    [[], 'missing command'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['migrate', '--bogus'], "Unknown option '--bogus'"],
    [['migrate', 'extra'], 'unexpected argument "extra"'],
    [['migrate', '--database-url'], "Option '--database-url <value>' argument missing"],
    [['migrate'], 'give --database-url or set DATABASE_URL'],
    [['migrate', '--database-url', 'postgres://x@127.0.0.1/y', '--schema', 'bad-name'], '--schema must be an identifier'],
    [['migrate', '--database-url', 'postgres://x@127.0.0.1/y', '--json'], '--json does not apply to migrate'],
  ])('bad arguments %j -> the problem and the usage on stderr, exit code 2', async (args, problem) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toContain(`nestjs-pg-queue: ${problem}`);
    expect(lines[1]).toMatch(/^Usage: nestjs-pg-queue <command>/);
    expect(r.stdout).toBe('');
  });

  it('--help prints the usage on stdout, exit code 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: nestjs-pg-queue/);
  });

  it('migrate applies the migrations once (flag or DATABASE_URL), and an app with migrate: false then boots', async () => {
    const schema = newSchema();
    const first = await cli(['migrate', '--database-url', databaseUrl(), '--schema', schema]);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(new RegExp(`^Applied 0001_\\w+\\.sql to schema "${schema}"\\.`));
    const again = await cli(['migrate', '--schema', schema], { DATABASE_URL: databaseUrl() });
    expect(again).toMatchObject({ code: 0, stdout: `Schema "${schema}" is up to date.\n` });

    const app = await createQueueApp({ schema, migrate: false, workers: false });
    await app.get<QueueSink>(getSinkToken('default')).push('noop', {});
    await app.close();
  });

  it('concurrent migrate runs apply each file exactly once', async () => {
    const schema = newSchema();
    const runs = await Promise.all([1, 2, 3].map(() => cli(['migrate', '--database-url', databaseUrl(), '--schema', schema])));
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    // One file per transaction under the lock: the runs may share the files out, but between them
    // they apply each file once.
    const applied = runs.flatMap((r) => [...r.stdout.matchAll(/^Applied (\S+) to schema/gm)].map((m) => m[1]));
    const files = loadMigrations();
    expect(applied.sort()).toEqual(files.map((m) => m.name));
    const { rows } = await pool.query(`SELECT version FROM ${schema}.migrations ORDER BY version`);
    expect(rows.map((r) => r.version)).toEqual(files.map((m) => m.version));
  });

  it('stats prints counts by queue and status, as a table or JSON', async () => {
    const schema = newSchema();
    const app = await createQueueApp({ schema, workers: false, queues: ['emails', 'reports'] });
    await app.get<QueueSink>(getSinkToken('emails')).pushMany([1, 2, 3].map((n) => ({ name: 'welcome', data: { n } })));
    await app.get<QueueSink>(getSinkToken('reports')).push('generate', {});
    await app.close();

    const json = await cli(['stats', '--json', '--database-url', databaseUrl(), '--schema', schema]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      emails: { pending: 3, running: 0, done: 0, retrying: 0, killed: 0, cancelled: 0, paused: false },
      reports: { pending: 1, running: 0, done: 0, retrying: 0, killed: 0, cancelled: 0, paused: false },
    });
    const table = await cli(['stats', '--schema', schema], { DATABASE_URL: databaseUrl() });
    expect(table.code).toBe(0);
    expect(table.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/))).toEqual([
      ['queue', 'pending', 'running', 'done', 'retrying', 'killed', 'cancelled', 'paused'],
      ['emails', '3', '0', '0', '0', '0', '0', 'no'],
      ['reports', '1', '0', '0', '0', '0', '0', 'no'],
    ]);
  });

  it('stats on a schema that is not installed says how to fix it, exit code 1', async () => {
    const r = await cli(['stats', '--database-url', databaseUrl(), '--schema', 'cli_never_installed']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not installed\. Run "npx nestjs-pg-queue migrate/);
  });

  it('an unreachable database is one line on stderr, exit code 1', async () => {
    const r = await cli(['migrate', '--database-url', 'postgres://postgres@127.0.0.1:1/nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^nestjs-pg-queue migrate: .*ECONNREFUSED.*\n$/);
  });
});
