import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs src/cli/main.ts (the source of dist/cli/main.js, the package's bin) in a child process. */
export function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  const baseEnv = { ...process.env };
  delete baseEnv.DATABASE_URL;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', './sample/register.mjs', 'src/cli/main.ts', ...args],
      { cwd: ROOT, env: { ...baseEnv, ...env } },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr }),
    );
  });
}
