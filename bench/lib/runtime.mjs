// Which Node runs a bench child: this process's own, unless the system names another major (`node`
// in its SYSTEMS entry, passed on in the child's config). The other majors are the official builds
// of scripts/node-builds (scripts/node-binaries.mjs installs them on first use).
import { nodeBinary } from '../../scripts/node-binaries.mjs';

const builds = new Map();

/** The Node binary, full version and major a system runs on: { path, version, major }. */
export function nodeFor(cfg) {
  const major = cfg?.node;
  if (major == null || major === Number(process.versions.node.split('.')[0])) {
    return { path: process.execPath, version: process.versions.node, major: Number(process.versions.node.split('.')[0]) };
  }
  if (!builds.has(major)) builds.set(major, nodeBinary(major));
  return builds.get(major);
}

/** The path of the Node binary that runs a child with this config (`cfg.node`: a major, e.g. 24). */
export function execPathFor(cfg) {
  return nodeFor(cfg).path;
}
