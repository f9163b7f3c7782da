/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against the sample
 * app, behind its example token guard: 403 without credentials on the page, the API and the live
 * stream; the overview shows the counts the database has; a failing job appears in Failures and
 * "retry" makes it run; pause stops claims. Screenshots of each page go to test/dashboard/.screenshots/.
 */
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../../sample/src/app.module.js';
import { getSinkToken, QueueAdmin, QueueModule, type QueueSink } from '../../src/index.js';
import { QueueDashboardModule } from '../../src/dashboard/index.js';
import { databaseUrl, dropSchema, testPool, uniqueSchema } from '../helpers/db.js';
import { waitFor } from '../helpers/wait.js';
// @ts-expect-error a plain ESM script of the repo's, without types
import { ensureDashboardUi } from '../../scripts/ensure-dashboard-ui.mjs';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const SHOTS = fileURLToPath(new URL('./.screenshots/', import.meta.url));
const TOKEN = 'change-me';

// Without the browser (a machine that never installed it) these tests cannot run; CI installs it.
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('dashboard in a browser (sample app)', () => {
  const schema = uniqueSchema('dashb');
  const queueSchema = `${schema}_q`;
  const q = pg.escapeIdentifier(queueSchema);
  const pool = testPool();
  let app: INestApplication;
  let base: string;
  let browser: Browser;
  let page: Page;

  const count = async (where: string, params: unknown[] = []) => (await pool.query(`SELECT count(*)::int AS n FROM ${q}.jobs WHERE ${where}`, params)).rows[0].n;
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const text = async (testid: string) => (await page.getByTestId(testid).textContent())?.trim();

  beforeAll(async () => {
    ensureDashboardUi();
    mkdirSync(SHOTS, { recursive: true });
    await pool.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
    app = await NestFactory.create(AppModule.register({ databaseUrl: databaseUrl(), schema, queueSchema }), { logger: false });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addCookies([{ name: 'dashboard_token', value: TOKEN, url: base }]);
    page = await context.newPage();
    page.on('pageerror', (err) => console.error(`page error: ${err.message}`));
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await dropSchema(pool, schema);
    await dropSchema(pool, queueSchema);
    await pool.end();
  });

  it('answers 403 without the guard\'s credentials on the page, the API and the live stream', async () => {
    for (const path of ['/queues', '/queues/', '/queues/api/overview', '/queues/api/jobs', '/queues/api/live']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(403);
      await res.body?.cancel();
    }
    const ok = await fetch(`${base}/queues/`, { headers: { 'x-dashboard-token': TOKEN } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await ok.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).toContain('<base href="./">');
    // Without the trailing slash the page's relative URLs resolve under its mount point all the same.
    const bare = await (await fetch(`${base}/queues`, { headers: { 'x-dashboard-token': TOKEN } })).text();
    expect(bare).toContain('<base href="queues/">');
    const script = /src="\.\/assets\/([^"]+\.js)"/.exec(html)![1];
    const asset = await fetch(`${base}/queues/assets/${script}`, { headers: { 'x-dashboard-token': TOKEN } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    await asset.body?.cancel();
    for (const bad of ['..%2F..%2Fpackage.json', 'index.html', 'x.exe']) {
      const r = await fetch(`${base}/queues/assets/${bad}`, { headers: { 'x-dashboard-token': TOKEN } });
      expect(r.status, bad).toBe(404);
      await r.body?.cancel();
    }
    expect((await fetch(`${base}/queues/assets/${script}`)).status).toBe(403);
  });

  it('the overview shows the counts the database has, live', async () => {
    const emails = app.get<QueueSink>(getSinkToken('reports'));
    await emails.pushMany(Array.from({ length: 3 }, (_, i) => ({ name: 'generate', data: { n: i }, options: { delayMs: 3_600_000 } })));
    await page.goto(`${base}/queues`);
    await waitFor('the live indicator', async () => (await text('live-status')) === 'live', 15_000, 100);
    const pending = await count(`queue = 'reports' AND status = 'pending'`);
    expect(pending).toBe(3);
    await waitFor('the pending count to match the database', async () => (await text('count-reports-pending')) === String(pending), 15_000, 100);
    await shot('overview');
  });

  it('a failing job appears in Failures, and "retry" makes it run', async () => {
    const id = await app.get<QueueSink>(getSinkToken('reports')).push('generate', { n: 99 }, { maxAttempts: 1 });
    await waitFor('the job to be killed', async () => (await count(`id = $1 AND status = 'killed'`, [id])) === 1);
    await page.goto(`${base}/queues/#/failures`);
    const row = page.locator('[data-testid^="failure-"]').filter({ hasText: 'report backend unavailable' }).first();
    await row.waitFor({ timeout: 15_000 });
    await shot('failures');
    const testid = (await row.getAttribute('data-testid'))!;
    await page.getByTestId(`failure-retry-${testid.slice('failure-'.length)}`).click();
    await waitFor('the retried job to be done', async () => (await count(`id = $1 AND status = 'done'`, [id])) === 1);
    await page.goto(`${base}/queues/#/jobs/${id}`);
    await waitFor('the job page to say done', async () => (await text('job-field-status')) === 'done', 15_000, 100);
    await shot('job');
  });

  it('pause stops claims; resume lets them go', async () => {
    await page.goto(`${base}/queues/`);
    await page.getByTestId('pause-reports').click();
    await waitFor('the paused badge', async () => (await page.getByTestId('paused-reports').count()) === 1, 15_000, 100);
    const id = await app.get<QueueSink>(getSinkToken('reports')).push('generate', { n: 7 }, { maxAttempts: 3 });
    await waitFor('the overview to count the new job as pending', async () => (await text('count-reports-pending')) === String(await count(`queue = 'reports' AND status = 'pending'`)), 15_000, 100);
    expect(await count(`id = $1 AND status = 'pending'`, [id])).toBe(1);
    await shot('paused');
    await page.getByTestId('pause-reports').click();
    await waitFor('the job to run after resume', async () => (await count(`id = $1 AND status IN ('done', 'retrying')`, [id])) === 1, 15_000);
  });

  it('a cancel from the job page reaches the running handler: its slot frees while the other export holds its own', async () => {
    const reports = app.get<QueueSink>(getSinkToken('reports'));
    // reports runs 2 at once: two long exports take both slots.
    const [a, b] = await reports.pushMany([{ name: 'export', data: { seconds: 60 } }, { name: 'export', data: { seconds: 60 } }]);
    await waitFor('both exports to run', async () => (await count(`id = ANY($1) AND status = 'running'`, [[a, b]])) === 2);
    const waiting = await reports.push('export', { seconds: 0 });
    await page.goto(`${base}/queues/#/jobs/${a}`);
    await waitFor('the job page to say running', async () => (await text('job-field-status')) === 'running', 15_000, 100);
    await page.getByTestId('job-cancel').click();
    await waitFor('the job page to say cancelled', async () => (await text('job-field-status')) === 'cancelled', 15_000, 100);
    // Only a handler that returned frees its slot: the waiting job can run only then.
    await waitFor('the waiting job to run in the freed slot', async () => (await count(`id = $1 AND status = 'done'`, [waiting])) === 1, 15_000);
    expect(await count(`id = $1 AND status = 'running'`, [b])).toBe(1);
    await app.get(QueueAdmin).cancel(b);
  });

  it('filtering by a payload field finds the one job; a 5 MB payload does not freeze the page', async () => {
    const reports = app.get<QueueSink>(getSinkToken('reports'));
    const [needle] = await reports.pushMany([
      { name: 'generate', data: { title: 'needle-report' }, options: { delayMs: 3_600_000 } },
      { name: 'generate', data: { title: 'hay-report' }, options: { delayMs: 3_600_000 } },
    ]);
    // 5 MB is past the push limit (maxPayloadBytes, 1 MiB): written by hand, as an older producer might have.
    await pool.query(`UPDATE ${q}.jobs SET payload = jsonb_set(payload, '{big}', to_jsonb(repeat('y', 5 * 1024 * 1024))) WHERE id = $1`, [needle]);
    await page.goto(`${base}/queues/#/jobs`);
    await page.getByTestId('filter-payload').fill('$.title == "needle-report"');
    await page.getByTestId('filter-apply').click();
    await waitFor('exactly the needle', async () => {
      const rows = await page.locator('[data-testid^="job-row-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
      return rows.length === 1 && rows[0] === `job-row-${needle}`;
    }, 15_000, 100);
    await page.goto(`${base}/queues/#/jobs/${needle}`);
    await page.getByTestId('load-payload').click();
    await waitFor('the payload note', async () => (await page.getByTestId('payload-note').count()) === 1, 15_000, 100);
    expect((await page.getByTestId('job-payload').textContent())!.length).toBeLessThan(300_000);
    // The page still answers: a click on the nav renders the next page.
    await page.getByTestId('nav-overview').click();
    await page.getByTestId('live-status').waitFor({ timeout: 15_000 });
  });

  it('the schedules page lists none for the sample, and says so', async () => {
    await page.goto(`${base}/queues/#/schedules`);
    await page.getByText('No schedules').waitFor({ timeout: 15_000 });
    await shot('schedules');
  });

  it('the jobs page lists and filters', async () => {
    await page.goto(`${base}/queues/#/jobs`);
    await page.getByTestId('filter-payload').fill('');
    await page.getByTestId('filter-queue').fill('reports');
    await page.getByTestId('filter-status').selectOption('pending');
    await page.getByTestId('filter-apply').click();
    await waitFor('three pending report rows', async () => (await page.locator('[data-testid^="job-row-"]').count()) === (await count(`queue = 'reports' AND status = 'pending'`)), 15_000, 100);
    await shot('jobs');
    // The overview again, with the run's throughput and lag history in it (the README's picture).
    await page.goto(`${base}/queues/`);
    await waitFor('the live indicator', async () => (await text('live-status')) === 'live', 15_000, 100);
    await page.locator('[data-testid="lag-chart"] canvas').first().waitFor({ timeout: 15_000 });
    await shot('overview-after');
  });
});

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('dashboard in a browser, behind a global prefix and a reverse-proxy path', () => {
  const schema = uniqueSchema('dashp');
  const pool = testPool();
  let app: INestApplication;
  let proxy: http.Server;
  let browser: Browser;

  beforeAll(async () => {
    ensureDashboardUi();
    app = await NestFactory.create(
      {
        module: class ProxiedApp {},
        imports: [QueueModule.forRoot({ connection: { connectionString: databaseUrl(), max: 3 }, schema, queues: ['mail'], workers: false }), QueueDashboardModule.forRoot()],
      },
      { logger: false },
    );
    app.setGlobalPrefix('admin');
    await app.listen(0, '127.0.0.1');
    const target = (app.getHttpServer().address() as AddressInfo).port;
    // The proxy serves the app under /edge/: it strips that prefix, as a path-based ingress does.
    proxy = http.createServer((req, res) => {
      if (!req.url?.startsWith('/edge/')) {
        res.writeHead(404).end();
        return;
      }
      const upstream = http.request({ port: target, path: req.url.slice('/edge'.length), method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
      upstream.on('error', () => res.destroy());
      res.on('close', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  afterAll(async () => {
    await browser?.close();
    proxy?.closeAllConnections();
    await new Promise((r) => proxy?.close(r));
    await app?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('the page, its assets, its API and its live stream all resolve under /edge/admin/queues, with no CSP violation', async () => {
    await app.get<QueueSink>(getSinkToken('mail')).pushMany([{ name: 'a', data: {} }, { name: 'b', data: {} }]);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => void problems.push(e.message));
    const port = (proxy.address() as AddressInfo).port;
    await page.goto(`http://127.0.0.1:${port}/edge/admin/queues`);
    await waitFor('the live indicator', async () => (await page.getByTestId('live-status').textContent())?.trim() === 'live', 15_000, 100);
    await waitFor('the pending count', async () => (await page.getByTestId('count-mail-pending').textContent())?.trim() === '2', 15_000, 100);
    expect(problems).toEqual([]);
    await page.close();
  });
});
