// The dashboard's UI, built at our build time (`npm run build`) into dist/dashboard/ui, which the
// dashboard controller serves as static files. Relative URLs only (`base: './'`), so the pages work
// under any mount path, global prefix or reverse-proxy path; no inline script, for a strict CSP.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../../dist/dashboard/ui', import.meta.url)),
    emptyOutDir: true,
    // One script and one stylesheet: nothing inlined into the HTML (a data: URL would need a CSP exception).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
