import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The layers of src/ and which ones each may not import. Enqueue must not depend on the workers
 * (and the hot path not on validation), so the producer and the consumer meet only in modules below
 * both (encoding/, direct-start/); the statements in db/sql sit below every one of them.
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');
const FORBIDDEN: Record<string, string[]> = {
  producer: ['consumer', 'discovery', 'admin'],
  consumer: ['producer', 'discovery', 'admin'],
  'db/sql': ['producer', 'consumer', 'discovery', 'admin', 'direct-start', 'notify'],
  db: ['producer', 'consumer', 'discovery', 'admin', 'direct-start'],
  encoding: ['producer', 'consumer', 'db', 'direct-start'],
  'direct-start': ['producer', 'consumer'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The folder of src/ a file is in ('' for the root), e.g. 'db/sql' or 'producer'. */
function layerOf(file: string): string {
  return dirname(relative(SRC, file)).replace(/^\.$/, '');
}

/** Relative imports of a file, resolved to files under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1]);
  return specs.map((s) => resolve(dirname(file), s));
}

function violations(): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const layer = layerOf(file);
    const banned = FORBIDDEN[layer] ?? [];
    for (const target of importsOf(file)) {
      const targetLayer = layerOf(target);
      if (banned.some((b) => targetLayer === b || targetLayer.startsWith(`${b}/`))) {
        found.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
      }
    }
  }
  return found;
}

describe('import direction', () => {
  it('finds the imports it checks (the scan is not vacuous)', () => {
    const sink = importsOf(join(SRC, 'producer/queue-sink.ts')).map((t) => relative(SRC, t));
    expect(sink).toContain('direct-start/local-workers.js');
    expect(sink).toContain('encoding/validated-job.js');
    expect(importsOf(join(SRC, 'consumer/attempt-outcome.ts')).map((t) => relative(SRC, t))).toContain('encoding/attempt-values.js');
  });

  const OPTIONAL_PEERS = [
    { folder: 'terminus/', peer: /from '@nestjs\/terminus'/, user: 'terminus/queue-health.indicator.ts' },
    { folder: 'telemetry/opentelemetry/', peer: /from '@opentelemetry\//, user: 'telemetry/opentelemetry/job-tracing.ts' },
    { folder: 'transactional/', peer: /from '(@nestjs-cls\/|nestjs-cls)/, user: 'transactional/cls-transactions.ts' },
  ];

  it('optional peers are imported only from their subpath folder (an app without them pays nothing)', () => {
    for (const { folder, peer, user } of OPTIONAL_PEERS) {
      const offenders = sourceFiles(SRC)
        .filter((f) => !relative(SRC, f).startsWith(folder))
        .filter((f) => peer.test(readFileSync(f, 'utf8')))
        .map((f) => relative(SRC, f));
      expect(offenders).toEqual([]);
      expect(readFileSync(join(SRC, user), 'utf8')).toMatch(peer);
    }
  });

  /** Every source file the root export imports, however indirectly. */
  function reachedFromRoot(): Set<string> {
    const seen = new Set<string>();
    const queue = [join(SRC, 'index.ts')];
    while (queue.length > 0) {
      const file = queue.pop()!.replace(/\.js$/, '.ts');
      if (seen.has(file)) continue;
      seen.add(file);
      queue.push(...importsOf(file));
    }
    return seen;
  }

  it('the root export reaches no subpath folder, however indirectly', () => {
    const seen = reachedFromRoot();
    expect(seen.size).toBeGreaterThan(40);
    const reached = [...seen].map((f) => relative(SRC, f)).filter((f) => OPTIONAL_PEERS.some((p) => f.startsWith(p.folder)));
    expect(reached).toEqual([]);
  });

  it('the testing subpath is runner-agnostic and the root export does not reach it', () => {
    const testing = sourceFiles(join(SRC, 'testing'));
    expect(testing.length).toBeGreaterThan(3);
    expect(testing.filter((f) => /from '(vitest|@jest\/|jest)/.test(readFileSync(f, 'utf8'))).map((f) => relative(SRC, f))).toEqual([]);
    expect([...reachedFromRoot()].map((f) => relative(SRC, f)).filter((f) => f.startsWith('testing/'))).toEqual([]);
  });

  it("every log line goes through Nest's Logger with a component context (no console, no context-less Logger)", () => {
    const files = sourceFiles(SRC).filter((f) => !relative(SRC, f).startsWith('cli/'));
    const consoleUsers = files.filter((f) => /\bconsole\.(log|warn|error|info|debug)\(|process\.std(out|err)\.write\(/.test(readFileSync(f, 'utf8')));
    expect(consoleUsers.map((f) => relative(SRC, f))).toEqual([]);
    const loggers = files.flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/new Logger\(([^)]*)\)/g)].map((m) => ({ file: relative(SRC, f), arg: m[1] })));
    expect(loggers.length).toBeGreaterThan(10);
    expect(loggers.filter((l) => !/^['`][A-Z]\w+/.test(l.arg))).toEqual([]);
  });

  it('no import runs between producer and consumer, and db/sql imports neither', () => {
    expect(violations()).toEqual([]);
  });
});
