import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    // SWC emits the decorator metadata Nest's injection needs (esbuild does not).
    swc.vite({
      module: { type: 'es6' },
      jsc: { target: 'es2022', parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true } },
    }),
  ],
  test: {
    globalSetup: ['test/setup/global-setup.ts'],
    setupFiles: ['test/setup/reflect.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    projects: [
      {
        extends: true,
        // Two cores: two files at a time, each in its own schema.
        test: { name: 'core', include: ['test/**/*.spec.ts'], exclude: ['test/reliability/**'], maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        // Fault injection with child processes and latency bounds: one file at a time, after the rest,
        // so the other files' load does not stand in for the faults under test.
        test: { name: 'reliability', include: ['test/reliability/**/*.spec.ts'], maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
