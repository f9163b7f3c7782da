// `node bench/serve-postgres.mjs [setting=value ...]`: an embedded Postgres with the bench's settings
// (and any given), kept running until Ctrl-C, for profiling a scenario against it: run
// `DATABASE_URL=<printed url> node bench/run.mjs ...` beside it, with pg_stat_statements, auto_explain
// or perf on its processes. Its log goes to <data dir>/server.log.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { PG_SETTINGS } from './lib/db.mjs';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';

let logFile = null;
const server = await startEmbeddedPostgres({
  prefix: 'serve-postgres-',
  flags: [...PG_SETTINGS, ...process.argv.slice(2)],
  onLog: (text) => logFile && appendFileSync(logFile, text),
});
logFile = join(server.dataDir, 'server.log');
console.log(`${server.url}\nlog: ${logFile}`);
const stop = async () => {
  await server.dispose();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => undefined, 1 << 30);
