import type { CanActivate, Type } from '@nestjs/common';
import { InvalidQueueOptionsError } from '../errors.js';

/** What a dashboard request does: `read` for every page, API read and the live stream. */
export type DashboardAction = 'read' | 'retry' | 'cancel' | 'delete' | 'promote' | 'pause' | 'resume' | 'trigger';

export const WRITE_ACTIONS: readonly DashboardAction[] = ['retry', 'cancel', 'delete', 'promote', 'pause', 'resume', 'trigger'];

/** The request as the dashboard sees it (Express's or Fastify's): only what it reads. */
export interface DashboardRequest {
  readonly method?: string;
  readonly url?: string;
  readonly ip?: string;
  readonly headers?: Record<string, string | string[] | undefined>;
  readonly user?: unknown;
}

export interface QueueDashboardOptions {
  /** Where it is mounted, below the app's global prefix. Default 'queues'. */
  path?: string;
  /** Guards on every route (page, API, live stream), after the app's global guards. */
  guards?: Array<Type<CanActivate> | CanActivate>;
  /** True: every action is refused (403); the pages and reads still work. Default false. */
  readOnly?: boolean;
  /**
   * Decides each request: true allows it, false answers 403. Called with 'read' for reads and
   * with the action's name for each action. Default: everything the guards let through.
   */
  authorize?: (req: DashboardRequest, action: DashboardAction) => boolean | Promise<boolean>;
  /** Who did an action, for the log line each action writes. Default: `req.user.id`, `.name` or `.email`, else the client address. */
  actor?: (req: DashboardRequest) => string;
  /** Payloads larger than this (bytes of JSON) are cut in a job's view; the whole one is one request away. Default 64 KiB. */
  payloadPreviewBytes?: number;
  /** How often the live stream's shared snapshot is read while a page is open. Default 2000 ms. */
  liveIntervalMs?: number;
}

export interface ResolvedDashboardOptions {
  path: string;
  guards: Array<Type<CanActivate> | CanActivate>;
  readOnly: boolean;
  authorize?: QueueDashboardOptions['authorize'];
  actor: (req: DashboardRequest) => string;
  payloadPreviewBytes: number;
  liveIntervalMs: number;
}

const KEYS = new Set(['path', 'guards', 'readOnly', 'authorize', 'actor', 'payloadPreviewBytes', 'liveIntervalMs']);

export function resolveDashboardOptions(options: QueueDashboardOptions = {}): ResolvedDashboardOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidQueueOptionsError('dashboard', 'options must be an object');
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw new InvalidQueueOptionsError(`dashboard.${key}`, `is not a dashboard option (known: ${[...KEYS].join(', ')})`);
  }
  const path = options.path ?? 'queues';
  if (typeof path !== 'string' || !/^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/.test(path.replace(/^\/+|\/+$/g, ''))) {
    throw new InvalidQueueOptionsError('dashboard.path', 'must be a URL path of letters, digits, ".", "_", "~", "-" and "/"');
  }
  const guards = options.guards ?? [];
  if (!Array.isArray(guards) || guards.some((g) => typeof g !== 'function' && typeof (g as CanActivate)?.canActivate !== 'function')) {
    throw new InvalidQueueOptionsError('dashboard.guards', 'must be an array of guard classes or instances (with canActivate)');
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') throw new InvalidQueueOptionsError('dashboard.readOnly', 'must be a boolean');
  for (const fn of ['authorize', 'actor'] as const) {
    if (options[fn] !== undefined && typeof options[fn] !== 'function') throw new InvalidQueueOptionsError(`dashboard.${fn}`, 'must be a function');
  }
  const preview = options.payloadPreviewBytes ?? 64 * 1024;
  if (!Number.isSafeInteger(preview) || preview < 256) throw new InvalidQueueOptionsError('dashboard.payloadPreviewBytes', 'must be an integer >= 256');
  const live = options.liveIntervalMs ?? 2000;
  if (!Number.isSafeInteger(live) || live < 100) throw new InvalidQueueOptionsError('dashboard.liveIntervalMs', 'must be an integer >= 100');
  return {
    liveIntervalMs: live,
    path: path.replace(/^\/+|\/+$/g, ''),
    guards,
    readOnly: options.readOnly ?? false,
    authorize: options.authorize,
    actor: options.actor ?? defaultActor,
    payloadPreviewBytes: preview,
  };
}

function defaultActor(req: DashboardRequest): string {
  const user = req.user as { id?: unknown; name?: unknown; email?: unknown } | undefined;
  const who = user?.id ?? user?.name ?? user?.email;
  return who !== undefined && who !== null ? `user ${String(who)}` : `client ${req.ip ?? 'unknown'}`;
}
