import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../scripts/embedded-postgres.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    embedded: { dataDir: string; port: number; major: number } | null;
  }
}

/**
 * With DATABASE_URL set, tests use that server. Without it, an embedded Postgres is started in a
 * temp folder for the whole run and removed at the end: 17, or the major PG_MAJOR names
 * (`npm run test:pg -- 13`).
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
  project.provide('embedded', { dataDir: pg.dataDir, port: pg.port, major: pg.major });
  return () => pg.dispose();
}
