import 'reflect-metadata';
import { ConsoleLogger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { AppModule } from './app.module.js';
import { startEmbeddedPostgres, StartupError, type EmbeddedServer } from './embedded-postgres.js';

/**
 * `npm start`: the sample app. With DATABASE_URL unset it starts an embedded Postgres with its data
 * in .pgdata/ (or SAMPLE_PGDATA). Environment: PORT (3000), DATABASE_URL, APP_SCHEMA (public),
 * QUEUE_SCHEMA (pgqueue).
 */

/** Keeps Nest's own error logs quiet while booting: a failed start prints one line of ours instead. */
class SampleLogger extends ConsoleLogger {
  quiet = true;
  override error(message: unknown, ...rest: unknown[]): void {
    if (!this.quiet) super.error(message, ...(rest as [string]));
  }
}

const redact = (url: string) => url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');

function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: Array<{ message?: string }> };
  return e?.message || e?.errors?.[0]?.message || e?.code || String(err);
}

function parsePort(raw: string | undefined): number {
  const port = Number(raw ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new StartupError(`PORT must be a port number, got "${raw}"`);
  return port;
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new StartupError(`port ${port} is already in use; set PORT to a free port`) : err),
    );
    srv.listen(port, () => srv.close(() => resolve()));
  });
}

/** Connects once up front so an unreachable server is one clear line, and creates the app schema. */
async function prepareDatabase(url: string, schema: string): Promise<void> {
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  } catch (err) {
    throw new StartupError(`DATABASE_URL is not a valid connection string: ${describeError(err)}`);
  }
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw new StartupError(`cannot connect to ${redact(url)}: ${describeError(err)}`);
  }
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${client.escapeIdentifier(schema)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  let app: INestApplication | undefined;
  let embedded: EmbeddedServer | undefined;
  let closing: Promise<void> | undefined;

  const close = (code: number) => {
    closing ??= (async () => {
      try {
        await app?.close(); // stops claiming, drains in-flight jobs within shutdownGraceMs, closes pools
      } catch (err) {
        process.stderr.write(`error while closing the app: ${describeError(err)}\n`);
        code = 1;
      }
      if (embedded) {
        await embedded.stop();
        if (code === 0) console.log('Embedded Postgres stopped.');
      }
      process.exit(code);
    })();
    return closing;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (!closing) console.log(`\n${signal}: draining in-flight jobs and shutting down...`);
      void close(0);
    });
  }

  try {
    const port = parsePort(process.env.PORT);
    const schema = process.env.APP_SCHEMA || 'public';
    const queueSchema = process.env.QUEUE_SCHEMA || 'pgqueue';
    await assertPortFree(port);
    let databaseUrl = process.env.DATABASE_URL;
    if (!databaseUrl) {
      const dataDir = process.env.SAMPLE_PGDATA || fileURLToPath(new URL('../../.pgdata', import.meta.url));
      console.log(`DATABASE_URL is not set: starting an embedded Postgres (data in ${dataDir})...`);
      embedded = await startEmbeddedPostgres(dataDir);
      databaseUrl = embedded.url;
      console.log(`Embedded Postgres is up: ${redact(databaseUrl)}`);
    }
    await prepareDatabase(databaseUrl, schema);
    if (closing) return;

    const logger = new SampleLogger();
    app = await NestFactory.create(AppModule.register({ databaseUrl, schema, queueSchema }), { logger, abortOnError: false });
    try {
      await app.listen(port);
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? new StartupError(`port ${port} is already in use; set PORT to a free port`)
        : err;
    }
    logger.quiet = false;
    const url = `http://localhost:${(app.getHttpServer().address() as { port: number }).port}`;
    console.log(`\nSample app listening on ${url}`);
    console.log(`Try: curl -s -X POST ${url}/users -H 'content-type: application/json' -d '{"email":"ada@example.com"}'`);
    console.log(`Then: curl -s ${url}/users/<id>, curl -s ${url}/jobs/<jobId>, curl -s ${url}/queues/stats`);
    console.log(`Dashboard: open ${url}/dashboard-login?token=${process.env.DASHBOARD_TOKEN ? '<DASHBOARD_TOKEN>' : 'change-me'} in a browser`);
    console.log('Press Ctrl-C to stop.');
  } catch (err) {
    process.stderr.write(`error: ${describeError(err)}\n`);
    await close(1);
  }
}

await main();
