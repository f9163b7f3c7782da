import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from 'pg';
import { SchemaNotReadyError } from '../errors.js';
import { quoteIdent } from './identifier.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** `migrations/` sits two levels above this file both in `src/db/` and in `dist/db/`. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

const FILE_RE = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** Reads `migrations/NNNN_name.sql`, in order; the numbers must run 1, 2, 3... without gaps. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => FILE_RE.test(f)).sort();
  return files.map((file, i) => {
    const version = Number(FILE_RE.exec(file)![1]);
    if (version !== i + 1) throw new Error(`Migration ${file} is out of sequence: expected number ${i + 1}`);
    const sql = readFileSync(`${dir}/${file}`, 'utf8');
    return { version, name: file, sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

/**
 * Applies the numbered migrations once and in order, recording each in `<schema>.migrations`.
 * Each file runs in a transaction of its own that first takes a transaction-scoped advisory lock
 * keyed by the schema, then reads what is applied: concurrent boots queue on the lock, and each
 * finds a file already recorded once the first has committed it. A transaction lock (not a
 * session lock) holds through a transaction-mode pooler, where a session's statements may each
 * run on another server connection.
 */
export class Migrator {
  private readonly s: string;

  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly migrations: Migration[] = loadMigrations(),
  ) {
    this.s = quoteIdent(schema);
  }

  /** Applies what is missing; resolves to the names of the files it applied. */
  async migrate(): Promise<string[]> {
    const client = await this.pool.connect();
    const applied: string[] = [];
    let broken = false;
    try {
      for (;;) {
        const next = await this.applyNext(client);
        if (!next) break;
        applied.push(next);
      }
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      // A connection whose state we are unsure of (a transaction possibly open) is destroyed.
      client.release(broken);
    }
    return applied;
  }

  /** One transaction: under the lock, applies the first missing file; resolves to its name, or null. */
  private async applyNext(client: PoolClient): Promise<string | null> {
    await client.query('BEGIN');
    let current: Migration | undefined;
    try {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('nestjs-pg-queue:migrate'), hashtext($1))`, [this.schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.s}.migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = new Set((await client.query(`SELECT version FROM ${this.s}.migrations`)).rows.map((r) => r.version));
      current = this.migrations.find((m) => !done.has(m.version));
      if (current) {
        await client.query(current.sql.replaceAll('{{schema}}', this.s));
        await client.query(`INSERT INTO ${this.s}.migrations (version, name, checksum) VALUES ($1, $2, $3)`, [
          current.version,
          current.name,
          current.checksum,
        ]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (!current) throw err;
      throw new SchemaNotReadyError(`Migration ${current.name} failed on schema "${this.schema}": ${(err as Error).message}`);
    }
    return current?.name ?? null;
  }

  /** For `migrate: false`: throws {@link SchemaNotReadyError} unless every migration is applied. */
  async verify(): Promise<void> {
    const fix =
      `Run "npx nestjs-pg-queue migrate --database-url <url> --schema ${this.schema}" in your deploy step, ` +
      'or set migrate: true in QueueModule.forRoot().';
    let versions: number[];
    try {
      versions = (await this.pool.query(`SELECT version FROM ${this.s}.migrations`)).rows.map((r) => r.version);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '42P01' || code === '3F000') {
        throw new SchemaNotReadyError(`The queue schema "${this.schema}" is not installed. ${fix}`);
      }
      throw err;
    }
    const missing = this.migrations.filter((m) => !versions.includes(m.version)).map((m) => m.name);
    if (missing.length > 0) {
      throw new SchemaNotReadyError(`The queue schema "${this.schema}" is not current: missing ${missing.join(', ')}. ${fix}`);
    }
  }
}
