#!/usr/bin/env node
/**
 * The operators' CLI: `nestjs-pg-queue migrate` applies the queue's migrations (for deploys that
 * run the app with `migrate: false`), `stats` prints job counts by queue and status, and the
 * operator verbs (cancel, retry, promote, delete, their -many forms, list, pause, resume) act on
 * jobs and queues as QueueAdmin does. Every command takes --json.
 * Exit codes: 0 done (a verb's outcome, "not found" included, is printed), 1 failed (one line on
 * stderr), 2 bad arguments (usage on stderr).
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Migrator } from '../db/migrator.js';
import { quoteIdent } from '../db/identifier.js';
import { statsSql } from '../db/sql/admin.js';
import { queueStatesSql } from '../db/sql/queues.js';
import { currentStatus, JOB_STATUSES } from '../db/sql/job-columns.js';
import { resolveQueueOptions } from '../queue.options.js';
import { FILTER_FLAGS, runVerb, VERBS, VerbUsageError, type FlagValues, type Verb } from './operator-verbs.js';

const USAGE = `Usage: nestjs-pg-queue <command> [target] [--database-url URL] [--schema NAME] [--json] [flags]

  migrate                 apply the queue's pending migrations (under an advisory lock; safe to run concurrently)
  stats                   print job counts by queue and status
  cancel|retry|promote|delete <job id>
                          act on one job (retry: --reset-attempts); prints what happened
  cancel-many|retry-many|delete-many [filter]
                          act on every job the filter selects, 1,000 a statement; prints the count
  list [filter]           print a page of jobs (--page-size N, --after ID, --order asc|desc)
  pause <queue> [--reason TEXT], resume <queue>
                          stop or restart claims of a queue, in every process
  schedules               print the recurring schedules (next and last slot, paused)
  pause-schedule|resume-schedule|trigger-schedule <key>
                          stop or restart a schedule's slots, or enqueue its job now

  filter: --queue Q --name N --status S[,S] --created-after T --created-before T
          --finished-after T --finished-before T --key-prefix P --limit N, or --all for every job

  --database-url URL   Postgres connection string (default: $DATABASE_URL)
  --schema NAME        the queue's schema (default: pgqueue)
  --json               print JSON instead of text
  -h, --help           print this help`;


class UsageError extends Error {}

interface Command {
  command: 'migrate' | 'stats' | Verb;
  target?: string;
  flags: FlagValues;
  databaseUrl: string;
  schema: string;
  json: boolean;
}

function parse(argv: string[]): Command | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        ...FILTER_FLAGS,
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('missing command');
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  const command = positionals[0];
  const isVerb = Object.hasOwn(VERBS, command);
  if (command !== 'migrate' && command !== 'stats' && !isVerb) throw new UsageError(`unknown command "${command}"`);
  if (values.json && command === 'migrate') throw new UsageError('--json does not apply to migrate');
  if (!isVerb && positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const flags: FlagValues = {};
  for (const key of Object.keys(FILTER_FLAGS) as Array<keyof typeof FILTER_FLAGS>) if (values[key] !== undefined) flags[key] = values[key];
  if (!isVerb && Object.keys(flags).length > 0) throw new UsageError(`--${Object.keys(flags)[0]} applies to the operator verbs only`);
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  if (!databaseUrl) throw new UsageError('give --database-url or set DATABASE_URL');
  const schema = values.schema ?? 'pgqueue';
  try {
    // The same validation QueueModule applies to its `schema` option.
    resolveQueueOptions({ connection: {}, queues: ['cli'], schema });
  } catch (err) {
    throw new UsageError((err as Error).message.replace('QueueModule option "schema"', '--schema'));
  }
  return { command: command as Command['command'], target: positionals[1], flags, databaseUrl, schema, json: values.json };
}

function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  return e?.message || e?.errors?.[0]?.message || e?.code || String(err);
}

async function migrate(pool: pg.Pool, cmd: Command): Promise<void> {
  const applied = await new Migrator(pool, cmd.schema).migrate();
  if (applied.length === 0) console.log(`Schema "${cmd.schema}" is up to date.`);
  for (const name of applied) console.log(`Applied ${name} to schema "${cmd.schema}".`);
}

async function stats(pool: pg.Pool, cmd: Command): Promise<void> {
  await new Migrator(pool, cmd.schema).verify();
  const s = quoteIdent(cmd.schema);
  const rows = (await pool.query<{ queue: string; status: string; count: number }>(statsSql(s))).rows;
  const paused = new Set((await pool.query<{ name: string }>(queueStatesSql(s), [null])).rows.map((r) => r.name));
  const byQueue: Record<string, Record<string, number | boolean>> = {};
  const counts = (queue: string) => (byQueue[queue] ??= { ...Object.fromEntries(JOB_STATUSES.map((st) => [st, 0])), paused: paused.has(queue) });
  for (const r of rows) (counts(r.queue)[currentStatus(r.status)] as number) += r.count;
  for (const queue of paused) counts(queue);
  if (cmd.json) {
    console.log(JSON.stringify(byQueue, null, 2));
    return;
  }
  const queues = Object.keys(byQueue).sort();
  if (queues.length === 0) {
    console.log(`No jobs in schema "${cmd.schema}".`);
    return;
  }
  const header = ['queue', ...JOB_STATUSES, 'paused'];
  const table = [header, ...queues.map((q) => [q, ...JOB_STATUSES.map((st) => String(byQueue[q][st])), byQueue[q].paused ? 'yes' : 'no'])];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
}

async function main(argv: string[]): Promise<number> {
  let cmd: Command | 'help';
  try {
    cmd = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`nestjs-pg-queue: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (cmd === 'help') {
    console.log(USAGE);
    return 0;
  }
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({ connectionString: cmd.databaseUrl, max: 1, connectionTimeoutMillis: 10_000 });
  } catch (err) {
    process.stderr.write(`nestjs-pg-queue: invalid database URL: ${describeError(err)}\n`);
    return 2;
  }
  pool.on('error', () => undefined);
  try {
    if (cmd.command === 'migrate') await migrate(pool, cmd);
    else if (cmd.command === 'stats') await stats(pool, cmd);
    else {
      const r = await runVerb(pool, cmd.schema, cmd.command, cmd.target, cmd.flags);
      console.log(cmd.json ? JSON.stringify(r.json, null, 2) : r.text);
    }
    return 0;
  } catch (err) {
    if (err instanceof VerbUsageError) {
      process.stderr.write(`nestjs-pg-queue: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`nestjs-pg-queue ${cmd.command}: ${describeError(err)}\n`);
    return 1;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

process.exitCode = await main(process.argv.slice(2));
