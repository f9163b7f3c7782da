// The registry reachable here serves only the linux builds of native optional packages
// (@swc/core-*, @msgpackr-extract/*), so `npm install` writes a lockfile without the other
// platforms' entries and `npm ci` then refuses it ("Missing: ... from lock file").
// This adds a placeholder entry (version, os, cpu, optional) for each missing platform package,
// which is what npm itself records; npm skips them on this platform. Run after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const pkgs = lock.packages;
const OS = ['darwin', 'linux', 'win32', 'freebsd', 'android'];
const CPU = ['x64', 'arm64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64'];
let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    const nested = path ? `${path}/node_modules/${dep}` : key;
    if (pkgs[key] || pkgs[nested]) continue;
    const parts = dep.split('/').pop().split('-');
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.find((p) => CPU.includes(p));
    if (!os || !cpu) throw new Error(`cannot tell the platform of ${dep}`);
    const stub = { version, cpu: [cpu], dev: true, optional: true, os: [os] };
    if (parts.includes('musl')) stub.libc = ['musl'];
    if (parts.includes('gnu') || parts.includes('gnueabihf')) stub.libc = ['glibc'];
    pkgs[key] = stub;
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`added ${added} platform placeholder(s) to package-lock.json`);
