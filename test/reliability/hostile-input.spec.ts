/**
 * Issue 6, item 7: hostile input. Queue names, job names, idempotency keys, metadata and payloads
 * with quotes, semicolons, NUL bytes, unicode and 100,000-character strings; a schema option of
 * `x"; DROP TABLE y; --`; a worker presenting a wrong lease token.
 * Pass: values are only ever bound as parameters (stored verbatim, or refused with a typed error
 * naming the field), the schema option is refused at bootstrap, nothing else in the database
 * changes (a sentinel table `y` on the connections' search_path survives), and a wrong lease token
 * cannot refresh, take over or remove another worker's heartbeat row.
 */
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashLeaseToken } from '../../src/consumer/worker-identity.js';
import { refreshWorkerSql, registerWorkerSql, unregisterWorkerSql } from '../../src/db/sql/heartbeat.js';
import {
  InvalidJobError,
  InvalidQueueOptionsError,
  Process,
  Processor,
  QueueAdmin,
  QueueModule,
  QueueOrchestrator,
  QueueRegistry,
  type Job,
  type QueueModuleOptions,
} from '../../src/index.js';
import { databaseUrl, testPool, uniqueSchema } from '../helpers/db.js';
import { until } from './support/harness.js';

const LONG = 'x'.repeat(100_000);
const INJECTIONS = [`'; DROP TABLE y; --`, `"; DROP TABLE y; --`, `Robert'); DROP TABLE jobs;--`, `$1`, `%s %n`, `\\'\\"`, `a;b;c`, `名前 ü 🚀 \u2028 \u202e`, `E'\\x00'`];
const HOSTILE_QUEUES = [`q'; DROP TABLE y; --`, `q"; DROP TABLE y; --`, `ünï€ødé 名前 🚀`, `$1`, `q.jobs`];

const ran: Array<{ queue: string; name: string; data: unknown }> = [];
function hostileProcessor(queue: string) {
  class HostileHandlers {
    work(job: Job) {
      ran.push({ queue: job.queue, name: job.name, data: job.data });
      return { echoed: job.data };
    }
  }
  const p = HostileHandlers.prototype as unknown as Record<string, unknown>;
  for (const name of ['work', ...INJECTIONS]) {
    if (name !== 'work') p[name] = p.work;
    Process(name)(p, name, Object.getOwnPropertyDescriptor(p, name)!);
  }
  Processor(queue)(HostileHandlers);
  Injectable()(HostileHandlers);
  return HostileHandlers;
}

describe('reliability: hostile input', () => {
  const schema = uniqueSchema('rel_hostile');
  const sentinel = uniqueSchema('rel_sentinel');
  const pool = testPool(2);
  // Every connection of the app under test resolves unqualified names in the sentinel schema
  // first, so an injected "DROP TABLE y" would hit the sentinel's table.
  const connection = { connectionString: databaseUrl(), max: 4, options: `-c search_path=${sentinel},public` };
  let app: INestApplication;

  async function catalogue(): Promise<string> {
    const r = await pool.query(
      `SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ('public', $1, $2) ORDER BY 1, 2`,
      [sentinel, schema],
    );
    const y = await pool.query(`SELECT count(*)::int AS n, max(v) AS v FROM ${sentinel}.y`);
    return JSON.stringify({ rels: r.rows, y: y.rows[0] });
  }

  beforeAll(async () => {
    await pool.query(`CREATE SCHEMA ${sentinel}`);
    await pool.query(`CREATE TABLE ${sentinel}.y (v text); INSERT INTO ${sentinel}.y VALUES ('untouched')`);
    await pool.query(`CREATE TABLE ${sentinel}.jobs (v text)`);
    const moduleRef = await Test.createTestingModule({
      imports: [
        QueueModule.forRoot({
          connection,
          schema,
          queues: ['plain', ...HOSTILE_QUEUES],
          pollIntervalMs: 200,
          heartbeatIntervalMs: 250,
          orphanTimeoutMs: 2000,
        }),
      ],
      providers: HOSTILE_QUEUES.map(hostileProcessor),
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(async () => {
    await app?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${sentinel} CASCADE`);
    await pool.end();
  });

  it('7a. the schema option `x"; DROP TABLE y; --` (and friends) is refused at bootstrap, before any SQL runs; nothing in the database changes', async () => {
    const before = await catalogue();
    const evil = [`x"; DROP TABLE y; --`, `y; DROP TABLE y`, `"y"`, `x'`, `pgqueue\0`, 'ü', '1abc', 'a'.repeat(100_000)];
    for (const schemaOption of evil) {
      // forRoot validates at the call site...
      expect(() => QueueModule.forRoot({ connection, schema: schemaOption, queues: ['q'] })).toThrow(InvalidQueueOptionsError);
      // ...and forRootAsync when the module boots.
      const boot = Test.createTestingModule({
        imports: [QueueModule.forRootAsync({ useFactory: () => ({ connection, schema: schemaOption, queues: ['q'] }) as QueueModuleOptions })],
      })
        .compile()
        .then(async (m) => {
          const a = m.createNestApplication({ logger: false });
          await a.init();
          await a.close();
        });
      const err = await boot.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidQueueOptionsError);
      expect((err as InvalidQueueOptionsError).option).toBe('schema');
    }
    expect(await catalogue()).toBe(before);
    const r = await pool.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'x%' OR nspname LIKE '%DROP%' OR nspname LIKE '"%'`);
    expect(r.rows).toEqual([]);
  });

  it('7b. hostile queue names: registered ones are bound as parameters and work end to end; invalid ones are refused with a typed error', async () => {
    const before = await catalogue();
    const registry = app.get(QueueRegistry);
    const ids = new Map<string, string>();
    for (const q of HOSTILE_QUEUES) ids.set(q, await registry.sink(q).push('work', { q }));
    await until('every hostile queue to run its job', () => HOSTILE_QUEUES.every((q) => ran.some((r) => r.queue === q && (r.data as { q: string }).q === q)), 20_000);
    const admin = app.get(QueueAdmin);
    for (const [q, id] of ids) {
      const rec = await until(`job of ${q} done`, async () => {
        const j = await admin.getJob(id);
        return j?.status === 'done' ? j : null;
      });
      expect(rec.queue).toBe(q);
      expect(rec.result).toEqual({ echoed: { q } });
    }
    // Unknown or invalid queue names: InvalidJobError naming "queue", nothing written.
    for (const q of [`nope'; DROP TABLE y; --`, 'a\0b', LONG]) {
      const err = (() => {
        try {
          registry.sink(q);
          return null;
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(InvalidJobError);
      expect((err as InvalidJobError).field).toBe('queue');
    }
    // And as module options: refused at the call site, naming the entry.
    for (const q of ['a\0b', LONG, '', 'lone \uD800']) {
      let err: unknown = null;
      try {
        QueueModule.forRoot({ connection, schema, queues: ['ok', q] });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidQueueOptionsError);
      expect((err as InvalidQueueOptionsError).option).toBe('queues[1].name');
    }
    expect((await catalogue()).replace(/"relname":"[^"]*","relkind":"[^"]*"/g, '')).toBe(before.replace(/"relname":"[^"]*","relkind":"[^"]*"/g, ''));
    expect(JSON.parse(await catalogue()).y).toEqual({ n: 1, v: 'untouched' });
  });

  it('7c. hostile job names, idempotency keys, metadata and payloads are stored verbatim (and run) or refused with InvalidJobError naming the field; nothing else changes', async () => {
    const before = await catalogue();
    const sink = app.get(QueueRegistry).sink(HOSTILE_QUEUES[0]);
    const admin = app.get(QueueAdmin);
    const stored: string[] = [];
    for (const [i, text] of INJECTIONS.entries()) {
      const data = { text, long: LONG, [text]: `${text}"'`, nested: { [`${text};`]: [text, `\\u0000 is text here`] } };
      const metadata = { [text]: text, long: LONG, unicode: '名前 🚀 \u2028' };
      const idempotencyKey = `${text}:${i}:${'k'.repeat(400)}`;
      const id = await sink.push(text, data, { idempotencyKey, metadata });
      stored.push(id);
      const rec = await admin.getJob(id);
      expect(rec!.name).toBe(text);
      expect(rec!.data).toEqual(data);
      expect(rec!.metadata).toEqual(metadata);
      expect(rec!.idempotencyKey).toBe(idempotencyKey);
    }
    // Stored verbatim, and each ran under its hostile name.
    await until('every hostile job to run', () => INJECTIONS.every((t) => ran.some((r) => r.name === t)), 20_000);

    const refused: Array<[string, () => Promise<unknown>]> = [
      ['name', () => sink.push('a\0b', {})],
      ['name', () => sink.push(LONG, {})],
      ['name', () => sink.push(`'; DROP TABLE y; --${'x'.repeat(300)}`, {})],
      ['options.idempotencyKey', () => sink.push('work', {}, { idempotencyKey: LONG })],
      ['options.idempotencyKey', () => sink.push('work', {}, { idempotencyKey: `'; DROP TABLE y; --\0` })],
      ['options.metadata', () => sink.push('work', {}, { metadata: { k: `'; DROP TABLE y; --\0` } })],
      ['options.metadata', () => sink.push('work', {}, { metadata: { [`k\0`]: 1 } })],
      ['data', () => sink.push('work', { s: `"; DROP TABLE y; --\0` })],
      ['data', () => sink.push('work', { [`\uD800`]: 1 })],
      ['jobs[1].name', () => sink.pushMany([{ name: 'work', data: 1 }, { name: `x\0`, data: 2 }])],
    ];
    const rows = async () => (await pool.query(`SELECT count(*)::int AS n FROM ${schema}.jobs`)).rows[0].n as number;
    const n = await rows();
    for (const [field, attempt] of refused) {
      const err = await attempt().then(() => null, (e: unknown) => e);
      expect(err, field).toBeInstanceOf(InvalidJobError);
      expect((err as InvalidJobError).field).toBe(field);
    }
    expect(await rows()).toBe(n);
    expect(await catalogue()).toBe(before);
    expect(JSON.parse(await catalogue()).y).toEqual({ n: 1, v: 'untouched' });
  });

  it("7d. a wrong lease token cannot refresh, take over or remove another worker's heartbeat", async () => {
    const s = pg.escapeIdentifier(schema);
    const liveId = app.get(QueueOrchestrator).workerId;
    const wrong = hashLeaseToken(randomBytes(32).toString('hex'));
    // Against the live worker of this app.
    expect((await pool.query(refreshWorkerSql(s), [liveId, wrong, 60_000])).rowCount).toBe(0);
    const rowsOf = async (id: string) => (await pool.query(`SELECT queue, lease_hash FROM ${s}.workers WHERE worker_id = $1 ORDER BY queue`, [id])).rows;
    const liveBefore = await rowsOf(liveId);
    expect(liveBefore.length).toBe(HOSTILE_QUEUES.length);
    // Registering under its id, for one of its queues or for another one ('plain' has no handler
    // here), adds nothing and replaces nothing.
    await pool.query(registerWorkerSql(s), [liveId, wrong, [HOSTILE_QUEUES[0], 'plain'], '{}']);
    expect(await rowsOf(liveId)).toEqual(liveBefore);
    expect((await pool.query(unregisterWorkerSql(s), [liveId, wrong])).rowCount).toBe(0);

    // Against a row whose last_seen we control: the wrong token leaves it exactly as it was.
    const token = randomBytes(32).toString('hex');
    await pool.query(`INSERT INTO ${s}.workers (worker_id, queue, lease_hash, last_seen) VALUES ('victim', 'plain', $1, now() - interval '1 second')`, [hashLeaseToken(token)]);
    const seen = async () => (await pool.query(`SELECT last_seen, lease_hash FROM ${s}.workers WHERE worker_id = 'victim'`)).rows[0];
    const victimBefore = await seen();
    expect((await pool.query(refreshWorkerSql(s), ['victim', wrong, 60_000])).rowCount).toBe(0);
    expect((await pool.query(refreshWorkerSql(s), ['victim', token, 60_000])).rowCount).toBe(0); // the token itself is not its hash
    expect(await seen()).toEqual(victimBefore);
    // The holder of the token can.
    expect((await pool.query(refreshWorkerSql(s), ['victim', hashLeaseToken(token), 60_000])).rowCount).toBe(1);
    expect((await seen()).last_seen.getTime()).toBeGreaterThan(victimBefore.last_seen.getTime());
    // The lease token itself is never stored: only 64-hex-digit hashes are.
    const hashes = (await pool.query(`SELECT lease_hash FROM ${s}.workers`)).rows.map((r) => r.lease_hash as string);
    for (const h of hashes) expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hashes).not.toContain(token);
  });
});
