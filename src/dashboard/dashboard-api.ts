import { BadRequestException, Body, Get, Header, HttpCode, NotFoundException, Param, Post, Query, Req, Sse, type MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { QueueAdmin } from '../admin/queue-admin.js';
import { FILTER_DATE_KEYS, isJobId, type JobFilter } from '../admin/job-filter.js';
import { InvalidJobError } from '../errors.js';
import type { DashboardAccess } from './dashboard-access.js';
import type { DashboardAction, DashboardRequest } from './dashboard.options.js';
import { DashboardReads, type DashboardJob, type Overview } from './dashboard-reads.js';
import { jobQuery } from './job-query.js';
import type { LiveSnapshot } from './live-snapshot.js';
import { PAGE_CSP, type DashboardUi } from './dashboard-ui.js';

type JobVerb = 'retry' | 'cancel' | 'delete' | 'promote';

/**
 * The dashboard's JSON API, relative to its mount path. A base class: QueueDashboardModule makes
 * a controller of it at the configured path with the configured guards, so the app's global
 * guards, interceptors and prefix apply as to any controller of its own. Every route asks
 * DashboardAccess first; bad input is a 400 and an unknown id a 404, each naming the field.
 */
export abstract class DashboardApi {
  protected abstract readonly admin: QueueAdmin;
  protected abstract readonly reads: DashboardReads;
  protected abstract readonly access: DashboardAccess;
  protected abstract readonly previewBytes: number;
  protected abstract readonly live: LiveSnapshot;
  protected abstract readonly ui: DashboardUi;

  /** The page (one for every view: the UI routes by the URL's hash). */
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', PAGE_CSP)
  @Header('Cache-Control', 'no-store')
  async page(@Req() req: DashboardRequest & { originalUrl?: string }): Promise<string> {
    await this.access.check(req, 'read');
    return this.ui.page(req.originalUrl ?? req.url ?? '');
  }

  /** The UI's script, stylesheet and fonts; their names carry a content hash, so they never change. */
  @Get('assets/:file')
  @Header('Cache-Control', 'public, max-age=31536000, immutable')
  async asset(@Req() req: DashboardRequest, @Param('file') file: string) {
    await this.access.check(req, 'read');
    return this.ui.asset(file);
  }

  /** Server-sent events: the shared snapshot, once per tick (see LiveSnapshot), under the same guards. */
  @Sse('api/live')
  async liveStream(@Req() req: DashboardRequest): Promise<Observable<MessageEvent>> {
    await this.access.check(req, 'read');
    return this.live.stream();
  }

  @Get('api/overview')
  async overview(@Req() req: DashboardRequest): Promise<Overview> {
    await this.access.check(req, 'read');
    return this.reads.overview();
  }

  @Get('api/jobs')
  async jobs(@Req() req: DashboardRequest, @Query() query: Record<string, unknown>): Promise<{ jobs: DashboardJob[]; next: string | null }> {
    await this.access.check(req, 'read');
    const page = await answer(() => {
      const { filter, page } = jobQuery(query);
      return this.admin.listJobs(filter, page);
    });
    // A list shows at most a line of each payload.
    return { jobs: page.jobs.map((j) => DashboardReads.shown(j, 1024)), next: page.next };
  }

  @Get('api/jobs/:id')
  async job(@Req() req: DashboardRequest, @Param('id') id: string): Promise<DashboardJob> {
    await this.access.check(req, 'read');
    return DashboardReads.shown(await this.found(id), this.previewBytes);
  }

  /** The whole payload, however large (the job view shows a cut one). */
  @Get('api/jobs/:id/payload')
  async payload(@Req() req: DashboardRequest, @Param('id') id: string): Promise<{ data: unknown }> {
    await this.access.check(req, 'read');
    return { data: (await this.found(id)).data };
  }

  @Post('api/jobs/:id/:verb')
  @HttpCode(200)
  async jobVerb(@Req() req: DashboardRequest, @Param('id') id: string, @Param('verb') verb: string) {
    if (!['retry', 'cancel', 'delete', 'promote'].includes(verb)) throw new NotFoundException({ error: `no action "${verb}" on jobs (known: retry, cancel, delete, promote)`, field: 'verb' });
    await this.access.check(req, verb as DashboardAction);
    const result: { outcome: string } = await answer<{ outcome: string }>(() => this.admin[verb as JobVerb](id));
    this.access.audit(req, verb as DashboardAction, `job ${id}`, result.outcome);
    if (result.outcome === 'not_found') throw new NotFoundException({ error: `no job ${id}`, field: 'id' });
    return result;
  }

  @Post('api/queues/:queue/:verb')
  @HttpCode(200)
  async queueVerb(@Req() req: DashboardRequest, @Param('queue') queue: string, @Param('verb') verb: string, @Body() body: unknown) {
    if (verb !== 'pause' && verb !== 'resume') throw new NotFoundException({ error: `no action "${verb}" on queues (known: pause, resume)`, field: 'verb' });
    await this.access.check(req, verb);
    const reason = (body as { reason?: unknown } | undefined)?.reason;
    if (reason !== undefined && typeof reason !== 'string') throw new BadRequestException({ error: 'reason must be a string', field: 'reason' });
    const outcome = await answer(async () => (verb === 'pause' ? ((await this.admin.pause(queue, { reason })), 'paused') : (await this.admin.resume(queue)) ? 'resumed' : 'was not paused'));
    this.access.audit(req, verb, `queue ${queue}`, outcome);
    return { queue, outcome };
  }

  @Get('api/failures')
  async failures(@Req() req: DashboardRequest, @Query('queue') queue?: string) {
    await this.access.check(req, 'read');
    if (queue !== undefined && typeof queue !== 'string') throw new BadRequestException({ error: 'queue must be given once', field: 'queue' });
    return { groups: await this.reads.failures(queue || null) };
  }

  /** Retries the killed jobs of one failure group (among the latest FAILURE_WINDOW). */
  @Post('api/failures/:fingerprint/retry')
  @HttpCode(200)
  async retryGroup(@Req() req: DashboardRequest, @Param('fingerprint') fingerprint: string) {
    await this.access.check(req, 'retry');
    if (!/^[0-9a-f]{32}$/.test(fingerprint)) throw new BadRequestException({ error: 'fingerprint must be 32 hex digits', field: 'fingerprint' });
    const ids = await this.reads.failureIds(fingerprint);
    if (ids.length === 0) throw new NotFoundException({ error: `no killed job with fingerprint ${fingerprint}`, field: 'fingerprint' });
    const { count } = await this.admin.retryMany({ ids });
    this.access.audit(req, 'retry', `failure group ${fingerprint} (${ids.length} jobs)`, `${count} retried`);
    return { count };
  }

  /**
   * A verb on a selection (`{ ids }`) or a whole filter result. `preview: true` only counts what
   * it would act on (up to PREVIEW_CAP), for the confirmation; nothing changes.
   */
  @Post('api/bulk/:verb')
  @HttpCode(200)
  async bulk(@Req() req: DashboardRequest, @Param('verb') verb: string, @Body() body: { filter?: unknown; preview?: unknown }) {
    if (!['retry', 'cancel', 'delete'].includes(verb)) throw new NotFoundException({ error: `no bulk action "${verb}" (known: retry, cancel, delete)`, field: 'verb' });
    const filter = await answer(() => bulkFilter(body?.filter));
    if (body?.preview === true) {
      await this.access.check(req, 'read');
      return answer(() => this.reads.countUpTo(filter));
    }
    await this.access.check(req, verb as DashboardAction);
    const method = verb === 'retry' ? 'retryMany' : verb === 'cancel' ? 'cancelMany' : 'deleteMany';
    const { count } = await answer(() => this.admin[method](filter));
    this.access.audit(req, verb as DashboardAction, `jobs matching ${JSON.stringify(filter)}`, `${count} changed`);
    return { count };
  }

  private async found(id: string) {
    const job = await answer(() => {
      if (!isJobId(id)) throw new InvalidJobError('id', 'must be a job id (a ULID in canonical upper-case form)');
      return this.admin.getJob(id);
    });
    if (!job) throw new NotFoundException({ error: `no job ${id}`, field: 'id' });
    return job;
  }
}

/** A bulk body's filter, its dates given as ISO strings (JSON has no Date). */
function bulkFilter(raw: unknown): JobFilter {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidJobError('filter', 'must be an object');
  const f: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const key of FILTER_DATE_KEYS) {
    if (f[key] === undefined) continue;
    const d = typeof f[key] === 'string' ? new Date(f[key] as string) : null;
    if (!d || Number.isNaN(d.getTime())) throw new InvalidJobError(`filter.${key}`, 'must be an ISO date string');
    f[key] = d;
  }
  return f as JobFilter;
}

/** Runs `fn`, turning a refusal of its input into a 400 that names the field. */
async function answer<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InvalidJobError) throw new BadRequestException({ error: err.message, field: err.field });
    throw err;
  }
}
