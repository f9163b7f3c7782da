import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceUnavailableException, NotFoundException, StreamableFile } from '@nestjs/common';

/** The page's policy: nothing inline, nothing from elsewhere. */
export const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'";

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2' };

/**
 * The UI Vite built at our build time (dist/dashboard/ui), served as static files. The page gets
 * a <base href> of its own mount point (the last path segment, or "./" under a trailing slash), so
 * its relative asset and API URLs resolve under any global prefix or reverse-proxy path.
 */
export class DashboardUi {
  private readonly dir: string | null;
  private index: string | null = null;

  constructor() {
    // Compiled: dist/dashboard/ui beside this file. From the sources (tests, the sample), where
    // ./ui holds the UI's sources: the build's copy. A build has its assets folder; the sources do not.
    const candidates = [fileURLToPath(new URL('./ui/', import.meta.url)), fileURLToPath(new URL('../../dist/dashboard/ui/', import.meta.url))];
    this.dir = candidates.find((d) => existsSync(join(d, 'index.html')) && existsSync(join(d, 'assets'))) ?? null;
  }

  /** The page for a request to `path` (the URL as the browser sent it, query and all). */
  page(path: string): string {
    if (!this.dir) throw new ServiceUnavailableException({ error: 'the dashboard UI is not built: run `npm run build` in nestjs-pg-queue' });
    this.index ??= readFileSync(join(this.dir, 'index.html'), 'utf8');
    const pathname = path.split(/[?#]/)[0];
    const base = pathname.endsWith('/') ? './' : `${encodeURI(decodeURIComponent(pathname.split('/').pop() ?? ''))}/`;
    return this.index.replace('<head>', `<head><base href="${base.replace(/"/g, '%22')}">`);
  }

  asset(file: string): StreamableFile {
    const ext = /^[\w-]+(\.[\w-]+)*(\.\w+)$/.exec(file)?.[2];
    if (!this.dir || !ext || !TYPES[ext]) throw new NotFoundException({ error: `no asset ${JSON.stringify(file)}`, field: 'file' });
    const full = join(this.dir, 'assets', file);
    if (!existsSync(full)) throw new NotFoundException({ error: `no asset ${JSON.stringify(file)}`, field: 'file' });
    return new StreamableFile(readFileSync(full), { type: TYPES[ext] });
  }
}
