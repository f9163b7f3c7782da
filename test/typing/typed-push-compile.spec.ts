import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** tsc on one file with the project's settings: exit 0, or the compiler's complaints. */
async function compile(file: string): Promise<{ code: number; output: string }> {
  const dir = mkdtempSync(join(ROOT, 'test/typing/.tmp-'));
  const config = join(dir, 'tsconfig.json');
  writeFileSync(config, JSON.stringify({ extends: join(ROOT, 'tsconfig.json'), compilerOptions: { noEmit: true }, include: [], files: [file] }));
  try {
    await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], { cwd: ROOT });
    return { code: 0, output: '' };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? 1, output: e.stdout ?? '' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('typed pushes under tsc', () => {
  it('a wrong payload for a defineJob() job does not compile; a right one and the untyped form do', async () => {
    const file = join(ROOT, 'test/typing/typed-push.types.ts');
    const result = await compile(file);
    // Each @ts-expect-error line found an error: none is reported as unused, nothing else failed.
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);

  it('the check is not vacuous: the same pushes without the directives fail to compile, one error each', async () => {
    const { readFileSync } = await import('node:fs');
    const dir = mkdtempSync(join(ROOT, 'test/typing/.tmp-'));
    const stripped = join(dir, 'stripped.ts');
    writeFileSync(stripped, readFileSync(join(ROOT, 'test/typing/typed-push.types.ts'), 'utf8').replaceAll('// @ts-expect-error', '//').replaceAll("'../../src/", "'../../../src/"));
    try {
      const result = await compile(stripped);
      expect(result.code).not.toBe(0);
      expect(result.output.match(/error TS\d+/g)).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
