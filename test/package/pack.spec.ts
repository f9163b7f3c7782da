import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_MAJORS, nodeBinary } from '../../scripts/node-binaries.mjs';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const PUBLIC_NAMES = [
  'QueueModule',
  'Processor',
  'Process',
  'InjectSink',
  'QueueSink',
  'QueueAdmin',
  'NotifyBus',
  'getSinkToken',
  'InvalidJobError',
  'IdempotencyConflictError',
  'QueueError',
];
/** Each subpath export and a name it must export (its optional peer is installed here). */
const SUBPATHS = {
  'nestjs-pg-queue/terminus': 'QueueHealthIndicator',
  'nestjs-pg-queue/opentelemetry': 'openTelemetry',
  'nestjs-pg-queue/transactional': 'clsTransactions',
  'nestjs-pg-queue/testing': 'QueueTestingModule',
  'nestjs-pg-queue/dashboard': 'QueueDashboardModule',
};
/** Subpaths that need no optional peer: they load in an app without any. */
const PEERLESS = new Set(['nestjs-pg-queue/testing', 'nestjs-pg-queue/dashboard']);

// The same two files run on every supported Node; each prints the version that ran it.
const ESM = `import 'reflect-metadata';
import * as q from 'nestjs-pg-queue';
import { NestFactory } from '@nestjs/core';
const names = ${JSON.stringify(PUBLIC_NAMES)};
const missing = names.filter((n) => q[n] === undefined);
for (const [path, name] of Object.entries(${JSON.stringify(SUBPATHS)})) if (typeof (await import(path))[name] !== 'function') missing.push(path);
const ctx = await NestFactory.createApplicationContext(
  q.QueueModule.forRoot({ connection: { connectionString: process.env.DATABASE_URL }, schema: process.env.SCHEMA, queues: ['emails'], workers: false }),
  { logger: false },
);
const id = await ctx.get(q.getSinkToken('emails')).push('welcome', { to: 'ada@example.com' });
const job = await ctx.get(q.QueueAdmin).getJob(id);
await ctx.close();
console.log(JSON.stringify({ node: process.versions.node, missing, status: job.status, isQueueError: new q.InvalidJobError('x', 'y') instanceof q.QueueError }));
`;
const CJS = `const q = require('nestjs-pg-queue');
const names = ${JSON.stringify(PUBLIC_NAMES)};
const subpaths = Object.entries(${JSON.stringify(SUBPATHS)}).map(([path, name]) => [path, typeof require(path)[name]]);
console.log(JSON.stringify({ node: process.versions.node, types: Object.fromEntries(names.map((n) => [n, typeof q[n]])), subpaths: Object.fromEntries(subpaths) }));
`;

interface PackResult {
  filename: string;
  files: Array<{ path: string }>;
}

/**
 * The package as a user gets it: built, packed with `npm pack`, unpacked into a scratch app's
 * node_modules (offline: its dependencies are links to this repo's node_modules), then imported
 * from ESM and require()d from CommonJS on each supported Node (20, 22 and 24). The build goes to a
 * staging folder, not to ./dist, so this test never disturbs a dist/ that something else is using;
 * .ci/run also runs `npm run build`.
 */
describe('the packed package', () => {
  const work = mkdtempSync(join(tmpdir(), 'nestjs-pg-queue-pack-'));
  const staging = join(work, 'staging');
  const app = join(work, 'app');
  const installed = join(app, 'node_modules', 'nestjs-pg-queue');
  const pool = testPool(2);
  const schema = uniqueSchema('pack');
  let packed: PackResult;

  beforeAll(async () => {
    mkdirSync(staging);
    for (const f of ['package.json', 'README.md', 'LICENSE', 'migrations']) cpSync(join(ROOT, f), join(staging, f), { recursive: true });
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(staging, 'dist')]);
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: staging });
    packed = (JSON.parse(stdout) as PackResult[])[0];

    mkdirSync(installed, { recursive: true });
    await run('tar', ['-xzf', join(work, packed.filename), '-C', installed, '--strip-components=1']);
    for (const dep of readdirSync(join(ROOT, 'node_modules'))) {
      if (dep.startsWith('.') || dep === 'nestjs-pg-queue') continue;
      symlinkSync(join(ROOT, 'node_modules', dep), join(app, 'node_modules', dep));
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
    writeFileSync(join(app, 'esm.mjs'), ESM);
    writeFileSync(join(app, 'cjs.cjs'), CJS);
  }, 180_000);

  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('holds dist/, migrations/, README.md and LICENSE, and no tests, sample or sources', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']));
    expect(paths.some((p) => /^migrations\/0001_\w+\.sql$/.test(p))).toBe(true);
    expect(paths.filter((p) => !/^(dist|migrations)\//.test(p)).sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
  });

  it('the repository itself packs only those (npm pack --dry-run)', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json'], { cwd: ROOT });
    const paths = (JSON.parse(stdout) as PackResult[])[0].files.map((f) => f.path);
    expect(paths).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
    expect(paths.filter((p) => /^(test|sample|src|bench|\.ci|node_modules|\.pgdata)\//.test(p))).toEqual([]);
  });

  // The binary is resolved in the test, not skipped: node-22 and node-24 are dev dependencies, so a
  // missing one fails.
  for (const major of NODE_MAJORS) {
    it(`Node ${major} imports it from an ESM file, and boots QueueModule from the installed package`, async () => {
      const node = nodeBinary(major);
      const { stdout } = await run(node.path, ['esm.mjs'], { cwd: app, env: { ...process.env, DATABASE_URL: databaseUrl(), SCHEMA: schema } });
      expect(JSON.parse(stdout)).toEqual({ node: node.version, missing: [], status: 'pending', isQueueError: true });
    });

    it(`Node ${major} require()s it from a CommonJS file (require(esm), Node 20.19+)`, async () => {
      const node = nodeBinary(major);
      const { stdout, stderr } = await run(node.path, ['cjs.cjs'], { cwd: app });
      expect(JSON.parse(stdout)).toEqual({
        node: node.version,
        types: Object.fromEntries(PUBLIC_NAMES.map((n) => [n, 'function'])),
        subpaths: Object.fromEntries(Object.keys(SUBPATHS).map((p) => [p, 'function'])),
      });
      expect(stderr).toBe(''); // not even an ExperimentalWarning for require(esm)
    });
  }

  it('an app without the optional peers (@opentelemetry/*, @nestjs/terminus, typeorm, nestjs-cls) boots from the root export; the subpaths need their peer', async () => {
    const bare = join(work, 'bare');
    const modules = join(bare, 'node_modules');
    mkdirSync(modules, { recursive: true });
    const optional = (name: string) => name.startsWith('@opentelemetry/') || name === '@nestjs/terminus' || name === 'typeorm' || name === '@nestjs/typeorm' || name === 'nestjs-cls' || name.startsWith('@nestjs-cls/');
    for (const dep of readdirSync(join(ROOT, 'node_modules'))) {
      if (dep.startsWith('.') || dep === 'nestjs-pg-queue') continue;
      if (!dep.startsWith('@')) {
        if (!optional(dep)) symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep));
        continue;
      }
      mkdirSync(join(modules, dep), { recursive: true });
      for (const pkg of readdirSync(join(ROOT, 'node_modules', dep))) {
        if (!optional(`${dep}/${pkg}`)) symlinkSync(join(ROOT, 'node_modules', dep, pkg), join(modules, dep, pkg));
      }
    }
    cpSync(installed, join(modules, 'nestjs-pg-queue'), { recursive: true });
    writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'bare-app', private: true, type: 'module' }));
    writeFileSync(
      join(bare, 'bare.mjs'),
      ESM.replace(/^for \(const \[path, name\].*$/m, '') +
        `const refused = {};
for (const path of ${JSON.stringify(Object.keys(SUBPATHS))}) refused[path] = await import(path).then(() => 'loaded', (e) => e.code);
console.log(JSON.stringify(refused));
`,
    );
    const { stdout } = await run(process.execPath, ['bare.mjs'], { cwd: bare, env: { ...process.env, DATABASE_URL: databaseUrl(), SCHEMA: `${schema}_bare` } });
    try {
      const [booted, refused] = stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(booted).toEqual({ node: process.versions.node, missing: [], status: 'pending', isQueueError: true });
      expect(refused).toEqual(Object.fromEntries(Object.keys(SUBPATHS).map((p) => [p, PEERLESS.has(p) ? 'loaded' : 'ERR_MODULE_NOT_FOUND'])));
    } finally {
      await dropSchema(pool, `${schema}_bare`);
    }
  });

  it('ships its bin: dist/cli/main.js with a shebang, which runs migrations from the installed package', async () => {
    const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(pkg.bin).toEqual({ 'nestjs-pg-queue': 'dist/cli/main.js' });
    expect(readFileSync(join(installed, pkg.bin['nestjs-pg-queue']), 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const migrateSchema = `${schema}_cli`;
    try {
      const { stdout } = await run(process.execPath, [join(installed, 'dist/cli/main.js'), 'migrate', '--schema', migrateSchema], {
        cwd: app,
        env: { ...process.env, DATABASE_URL: databaseUrl() },
      });
      expect(stdout).toMatch(/^Applied 0001_\w+\.sql/);
    } finally {
      await dropSchema(pool, migrateSchema);
    }
  });
});
