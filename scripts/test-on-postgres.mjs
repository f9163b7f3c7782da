// `npm run test:pg -- <major> [vitest arguments]`: the test suite against an embedded Postgres
// of that major (13 to 18), whatever DATABASE_URL says.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SUPPORTED_MAJORS } from './postgres-binaries.mjs';

const [major, ...args] = process.argv.slice(2);
if (!SUPPORTED_MAJORS.includes(Number(major))) {
  console.error(`usage: npm run test:pg -- <major> [vitest arguments], with a major of ${SUPPORTED_MAJORS.join(', ')} (got ${major ?? 'none'})`);
  process.exit(2);
}
const env = { ...process.env, PG_MAJOR: major };
delete env.DATABASE_URL;
console.log(`tests on embedded PostgreSQL ${major}`);
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const child = spawn(process.execPath, [vitest, 'run', ...args], { stdio: 'inherit', env });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
