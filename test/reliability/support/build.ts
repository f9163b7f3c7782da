import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(here, '..', '..', '..');
const RELIABILITY_DIR = join(REPO_ROOT, 'test', 'reliability');
const BUILD_ROOT = join(RELIABILITY_DIR, '.build');
const TSCONFIG = join(RELIABILITY_DIR, 'fixtures', 'tsconfig.json');

function listFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) listFiles(p, out);
    else if (p.endsWith('.ts') || p.endsWith('.json')) out.push(p);
  }
  return out;
}

/**
 * Compiles the library (src/) and the fixture app with tsc (real decorator metadata, plain ESM)
 * into test/reliability/.build/<hash of the sources>/, so child processes run with bare `node`.
 * Content-addressed and built into a temp folder then renamed, so concurrent test files (or a
 * fresh clone without dist/) never see a half-written build, and an edit to src/ rebuilds.
 * Returns the path of the compiled fixture entry point.
 */
export function ensureFixtureBuilt(): string {
  const inputs = [...listFiles(join(REPO_ROOT, 'src')), ...listFiles(join(RELIABILITY_DIR, 'fixtures')), join(REPO_ROOT, 'tsconfig.json')];
  const h = createHash('sha256');
  for (const f of inputs) h.update(relative(REPO_ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  const hash = h.digest('hex').slice(0, 16);
  const target = join(BUILD_ROOT, hash);
  const entry = join(target, 'test', 'reliability', 'fixtures', 'worker-app.js');
  if (existsSync(join(target, 'OK'))) return entry;
  const tmp = join(BUILD_ROOT, `tmp-${hash}-${randomBytes(4).toString('hex')}`);
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', TSCONFIG, '--outDir', tmp], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    });
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`building the reliability fixture failed:\n${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`);
  }
  // The migrator looks for migrations/ two levels above src/db/migrator.js.
  symlinkSync(join(REPO_ROOT, 'migrations'), join(tmp, 'migrations'), 'dir');
  execFileSync('touch', [join(tmp, 'OK')]);
  try {
    renameSync(tmp, target);
  } catch {
    // Another test file built the same hash first.
    rmSync(tmp, { recursive: true, force: true });
  }
  // Keep the folder small: drop builds of older sources.
  for (const name of readdirSync(BUILD_ROOT)) {
    const p = join(BUILD_ROOT, name);
    if (name !== hash && !name.startsWith('tmp-') && Date.now() - statSync(p).mtimeMs > 60 * 60_000) rmSync(p, { recursive: true, force: true });
  }
  if (!existsSync(entry)) throw new Error(`fixture build produced no ${entry}`);
  return entry;
}
