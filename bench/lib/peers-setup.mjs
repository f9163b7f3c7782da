// The peer queues the bench runs (pg-boss, graphile-worker, BullMQ, ioredis) live in bench/peers,
// a folder of their own with an exact lockfile, out of the project's dependencies. This installs
// them (`npm ci --prefix bench/peers`) when bench/peers/node_modules is missing or stale: a pinned
// version not installed, or a lockfile newer than the last install.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PEERS = fileURLToPath(new URL('../peers/', import.meta.url));
const modules = join(PEERS, 'node_modules');

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The installed version of a package of bench/peers, or null. */
export function peerVersion(name) {
  const file = join(modules, name, 'package.json');
  return existsSync(file) ? readJson(file).version : null;
}

/** Why bench/peers/node_modules needs an install, or null when it is up to date. */
function staleReason() {
  const installed = join(modules, '.package-lock.json'); // written by npm at the end of an install
  if (!existsSync(installed)) return 'bench/peers/node_modules is missing';
  for (const [name, want] of Object.entries(readJson(join(PEERS, 'package.json')).dependencies ?? {})) {
    const have = peerVersion(name);
    if (have !== want) return `${name} ${have ?? '(none)'} is installed, bench/peers/package.json pins ${want}`;
  }
  if (statSync(join(PEERS, 'package-lock.json')).mtimeMs > statSync(installed).mtimeMs) return 'bench/peers/package-lock.json is newer than the install';
  return null;
}

/** Installs bench/peers when needed; `log` gets one line when it does. Throws when npm fails. */
export function setupPeers(log = console.log) {
  const reason = staleReason();
  if (!reason) return false;
  log(`${reason}: npm ci --prefix bench/peers (npm's EBADENGINE warnings are expected: the peers run on Node 24, npm here on ${process.version})`);
  const r = spawnSync('npm', ['ci', '--prefix', PEERS, '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`"npm ci --prefix bench/peers --no-audit --no-fund" failed (exit ${r.status ?? r.error?.message})`);
  return true;
}
