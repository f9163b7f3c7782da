// `npm run test:node -- <major> [vitest arguments]`: the test suite on Node 20, 22 or 24
// (e.g. `npm run test:node -- 22 --project core`). That node runs Vitest, and its bin folder goes
// first on PATH, so child processes that spawn `node` (or use process.execPath) get the same
// version. Exits with Vitest's exit code.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_MAJORS, nodeBinary } from './node-binaries.mjs';

const [major, ...args] = process.argv.slice(2);
if (!NODE_MAJORS.includes(Number(major))) {
  console.error(`usage: npm run test:node -- <major> [vitest arguments], with a major of ${NODE_MAJORS.join(', ')} (got ${major ?? 'none'})`);
  process.exit(2);
}
let node;
try {
  node = nodeBinary(Number(major));
} catch (err) {
  console.error(`test:node: ${err.message}`);
  process.exit(2);
}

const env = { ...process.env, PATH: [dirname(node.path), process.env.PATH].filter(Boolean).join(delimiter) };
console.log(`tests on Node ${node.version} (${node.path})`);
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const child = spawn(node.path, [vitest, 'run', ...args], { stdio: 'inherit', env });
// Ctrl-C reaches Vitest through the terminal's process group; a SIGTERM to this process alone is passed on.
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
