// `node bench/probe-waits.mjs <postgres url> [ms] [every ms]`: what the server's active client backends are doing,
// sampled from pg_stat_activity every `every` ms (default 10) for `ms` (default 10,000): per wait event
// ("CPU" when none) and statement (its first 40 characters), how many samples found a backend so.
// Run it beside a bench scenario: `npm run bench` prints its embedded server's port
// ("embedded Postgres on port N"); the url is then postgres://postgres:postgres@127.0.0.1:N/postgres.
// `Lock:object` on an INSERT is the lock that commits holding a NOTIFY queue behind one another;
// `LWLock:BufferContent` is backends waiting on the same page (the index's or the heap's tail).
import pg from 'pg';

const [url, ms = '10000', every = '10'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node bench/probe-waits.mjs <postgres url> [ms] [every ms]');
  process.exit(2);
}
const client = new pg.Client({ connectionString: url });
await client.connect();
const sql = `
  SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait,
         left(regexp_replace(query, '\\s+', ' ', 'g'), 40) AS statement
  FROM pg_stat_activity
  WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()`;
const counts = new Map();
let samples = 0;
const end = Date.now() + Number(ms);
while (Date.now() < end) {
  const { rows } = await client.query(sql);
  samples++;
  for (const r of rows) {
    const k = `${r.wait.padEnd(24)} ${r.statement}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  await new Promise((r) => setTimeout(r, Number(every)));
}
await client.end();
console.log(`${samples} samples; backends found in each state (a backend per sample):`);
for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${String(n).padStart(7)}  ${k}`);
