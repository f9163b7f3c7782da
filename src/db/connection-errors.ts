import pg from 'pg';
import type { DatabaseTarget } from '../errors.js';

/** Node socket errors of a server that is down, unreachable or gone mid-statement. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** pg's own words for a connection that ended or never came up. */
const PG_CLIENT_MESSAGES = [/^Connection terminated/, /^timeout exceeded when trying to connect/, /^Client has encountered a connection error/, /^Connection ended/];

/**
 * The database cannot be reached now: the error says nothing about the statement, only that no
 * server answered it. SQLSTATE class 08 (connection exception), 57P01-57P03 (shutting down,
 * starting up), 53300 (too many connections), 28xxx (refused login), 3D000 (no such database).
 */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (NETWORK_CODES.has(code)) return true;
  if (/^(08|28)/.test(code) || ['57P01', '57P02', '57P03', '53300', '3D000'].includes(code)) return true;
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  return typeof e.message === 'string' && PG_CLIENT_MESSAGES.some((re) => re.test(e.message as string));
}

const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', '57P03', '53300', '3D000']);

/** The connection never came up: no statement reached the server. */
export function failedBeforeSending(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(failedBeforeSending);
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  return NOT_SENT_CODES.has(code) || code.startsWith('28') || (typeof e?.message === 'string' && e.message.startsWith('timeout exceeded when trying to connect'));
}

/** A refused login or a missing database: retrying does not help, and may lock the account. */
export function isPermanent(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('28') || code === '3D000');
}

/** Host, port, database and user a pg config resolves to (defaults and PG* variables applied). */
export function targetOf(config: pg.ClientConfig | undefined): DatabaseTarget {
  // A Client resolves the config as connect() would, and opens nothing until then.
  const c = new pg.Client(config) as unknown as { host: string; port: number; database: string; user: string };
  return { host: c.host, port: Number(c.port), database: c.database, user: c.user };
}

/** Where the queue's pool connects: its `connection` option, or the config of the pool it was given. */
export function poolTarget(connection: pg.ClientConfig | undefined, pool: pg.Pool): DatabaseTarget {
  return targetOf(connection ?? (pool as unknown as { options: pg.ClientConfig }).options);
}

/** pg's message, or for an AggregateError (every address of a host refused) the first one's. */
export function causeText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return causeText(err.errors[0]);
  return (err as Error)?.message || String(err);
}
