import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    embedded: { dataDir: string; port: number } | null;
  }
}

/**
 * With DATABASE_URL set, tests use that server. Without it, an embedded Postgres 17 is started
 * in a temp folder for the whole run and removed at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DATABASE_URL) {
    project.provide('databaseUrl', process.env.DATABASE_URL);
    project.provide('embedded', null);
    return async () => undefined;
  }
  const pg = await startEmbeddedPostgres({
    prefix: 'nestjs-pg-queue-test-',
    flags: ['max_connections=300', 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off'],
  });
  project.provide('databaseUrl', pg.url);
  project.provide('embedded', { dataDir: pg.dataDir, port: pg.port });
  return () => pg.dispose();
}
