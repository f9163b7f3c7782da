// Builds the dashboard's UI (Vite) into dist/dashboard/ui when it is missing or older than its
// sources: `npm start` and the browser tests run from the sources and need the built page.
// `npm run build` always builds it.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src/dashboard/ui');
const built = join(root, 'dist/dashboard/ui/index.html');

const newest = (dir) => Math.max(...readdirSync(dir).map((f) => (statSync(join(dir, f)).isDirectory() ? newest(join(dir, f)) : statSync(join(dir, f)).mtimeMs)));

export function ensureDashboardUi() {
  if (existsSync(built) && statSync(built).mtimeMs >= newest(src)) return false;
  execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(src, 'vite.config.mjs')], { cwd: root, stdio: 'inherit' });
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureDashboardUi();
