import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import { DeliveryProbe, type NotifyDelivery } from './delivery-probe.js';
import type { OutageSignal } from '../outage/outage-reporter.js';
import { ReconnectBackoff } from './reconnect-backoff.js';
import { LISTENER_IDENTITY_SQL } from '../db/sql/ready-workers.js';

export type NotifyListener = (payload: string, channel: string) => void;
/** The backend of the LISTEN connection (see NotifyBus.listener). */
export interface ListenerBackend {
  pid: number;
  /** Its start, microseconds since the epoch, as text (a bigint). */
  started: string;
}

export type ReconnectListener = (generation: number) => void;

export interface NotifyBusOptions {
  /** Connection of the one LISTEN client (never from the pool: a pooler may not keep sessions). */
  connection: pg.ClientConfig;
  /** How often to check that the connection still delivers, with a NOTIFY to ourselves. */
  pingIntervalMs?: number;
  /** No echo within this long means a half-open connection: reconnect. */
  pingTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Sends a NOTIFY the way the insert trigger's are sent (through the queue's pool). Given, every
   * (re)connect checks that such a NOTIFY reaches the LISTEN connection (see DeliveryProbe).
   */
  notify?: (channel: string, payload: string) => Promise<void>;
  /** How long the delivery check waits for its NOTIFY. Default 5000. */
  probeTimeoutMs?: number;
  /** While the delivery check fails, how often it runs again. Default 30000. */
  probeRetryMs?: number;
  /** Where an unreachable database is reported (one warning per outage, not one per reconnect attempt). */
  outage?: OutageSignal;
}

/**
 * One LISTEN connection per process, fanned out to in-process subscribers.
 *
 * States: idle (no subscriber, no client) -> connecting -> live -> (lost -> waiting -> connecting)*,
 * and stopped, which is final. Invariants: at most one client exists at a time; every subscribed
 * channel is LISTENed on the live client; `generation` is bumped and `onReconnect` listeners run
 * only after every LISTEN of a (re)connect has succeeded, so a catch-up never races the re-LISTEN.
 * Connection changes run one at a time on `chain`, so a subscribe never races the close that
 * follows the last unsubscribe.
 */
export class NotifyBus {
  private readonly logger = new Logger('NotifyBus');
  private readonly channels = new Map<string, Set<NotifyListener>>();
  private readonly reconnectListeners = new Set<ReconnectListener>();
  private readonly verifiedListeners = new Set<() => void>();
  private readonly pingChannel = `nestjs_pg_queue_ping_${randomBytes(8).toString('hex')}`;
  private readonly backoff: ReconnectBackoff;
  private readonly probe: DeliveryProbe | null;
  private client: pg.Client | null = null;
  private live = false;
  /** When the connection was lost (or first failed to come up), while it has not come back. */
  private downSinceValue: number | null = null;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private pingDeadline: NodeJS.Timeout | null = null;
  private generationValue = 0;
  /** The backend of the live LISTEN connection (see `listener`). */
  private backend: ListenerBackend | null = null;

  constructor(private readonly options: NotifyBusOptions) {
    this.backoff = new ReconnectBackoff(options.minBackoffMs ?? 500, options.maxBackoffMs ?? 30_000);
    this.probe = options.notify
      ? new DeliveryProbe({
          channel: this.pingChannel,
          notify: options.notify,
          timeoutMs: options.probeTimeoutMs ?? 5000,
          retryMs: options.probeRetryMs ?? 30_000,
          logger: this.logger,
          verified: () => {
            for (const listener of this.verifiedListeners) this.safeCall(listener);
          },
        })
      : null;
  }

  /** Bumped after every successful connect and reconnect (once every channel is LISTENed again). */
  get generation(): number {
    return this.generationValue;
  }

  /** True while the LISTEN connection is up and listening. */
  get connected(): boolean {
    return this.live;
  }

  /**
   * How long the LISTEN connection has been down (ms), while something is subscribed and it is
   * reconnecting; null when it is up or not needed (for health checks).
   */
  get downForMs(): number | null {
    return this.downSinceValue === null || this.channels.size === 0 ? null : Date.now() - this.downSinceValue;
  }

  /** Something is subscribed: the LISTEN connection is wanted (up, or on its way). */
  get wanted(): boolean {
    return this.channels.size > 0 && !this.stopped;
  }

  /**
   * Whether a NOTIFY sent through the queue's pool was seen to reach the LISTEN connection since
   * the last (re)connect: `failing` through a transaction-mode pooler (pickup then relies on the poll).
   */
  get delivery(): NotifyDelivery {
    return this.probe?.status ?? 'unknown';
  }

  /**
   * The backend of the LISTEN connection, while it is up and a NOTIFY through the pool was seen
   * to reach it: where a job handed to this process (see Readiness) is sure to be heard. Null
   * otherwise, and then no worker here is advertised as ready.
   */
  get listener(): ListenerBackend | null {
    return this.live && this.delivery === 'verified' ? this.backend : null;
  }

  /** Calls `listener` with the payload of every NOTIFY on `channel`; returns the unsubscribe. */
  subscribe(channel: string, listener: NotifyListener): () => void {
    if (this.stopped) throw new Error('NotifyBus is stopped');
    let set = this.channels.get(channel);
    const isNewChannel = !set;
    if (!set) this.channels.set(channel, (set = new Set()));
    set.add(listener);
    if (isNewChannel) this.enqueue(() => this.syncChannel(channel));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const current = this.channels.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.channels.delete(channel);
      this.enqueue(() => this.syncChannel(channel));
    };
  }

  /** Calls `listener` with the new generation after every successful (re)connect. */
  onReconnect(listener: ReconnectListener): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /** Calls `listener` each time NOTIFY delivery to the LISTEN connection is verified (when `listener` becomes non-null). */
  onDeliveryVerified(listener: () => void): () => void {
    this.verifiedListeners.add(listener);
    return () => this.verifiedListeners.delete(listener);
  }

  /** Sends a NOTIFY on the LISTEN connection. Rejects when the bus is not connected. */
  async notify(channel: string, payload: string): Promise<void> {
    if (!this.client || !this.live) throw new Error('NotifyBus is not connected');
    await this.client.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }

  /** Closes the client and every timer. Idempotent; the bus cannot be restarted. */
  async stop(): Promise<void> {
    if (this.stopped) return this.chain;
    this.stopped = true;
    this.clearTimers();
    this.channels.clear();
    this.reconnectListeners.clear();
    this.verifiedListeners.clear();
    this.enqueue(() => this.disconnect());
    await this.chain;
  }

  private enqueue(op: () => Promise<void>): void {
    this.chain = this.chain.then(op).catch((err) => this.logger.error(`NotifyBus: ${(err as Error).message}`));
  }

  /** Brings the connection in line with the subscriptions for one channel. */
  private async syncChannel(channel: string): Promise<void> {
    if (this.stopped) return;
    const wanted = this.channels.has(channel);
    if (this.channels.size === 0) return this.disconnect();
    if (!this.client) return this.connect();
    if (!this.live) return; // a reconnect is scheduled and will LISTEN everything
    try {
      await this.client.query(`${wanted ? 'LISTEN' : 'UNLISTEN'} ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      this.lost(this.client, err);
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped || this.client || this.channels.size === 0) return;
    const client = new pg.Client({ keepAlive: true, application_name: 'nestjs-pg-queue:listen', ...this.options.connection });
    this.client = client;
    // Not up until it is: a LISTEN connection that never comes up counts as down from the first try.
    this.downSinceValue ??= Date.now();
    const began = Date.now();
    // Always handled: a dropped LISTEN connection must never crash the process.
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    client.on('notification', (msg) => this.dispatch(msg.channel, msg.payload ?? ''));
    try {
      await client.connect();
      for (const channel of [this.pingChannel, ...this.channels.keys()]) {
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      }
      const { rows } = await client.query<ListenerBackend>(LISTENER_IDENTITY_SQL);
      this.backend = rows[0] ?? null;
    } catch (err) {
      this.lost(client, err);
      return;
    }
    if (this.client !== client || this.stopped) return;
    this.live = true;
    this.downSinceValue = null;
    this.options.outage?.succeeded('LISTEN connection', began);
    this.backoff.reset();
    this.generationValue++;
    this.schedulePing();
    this.probe?.start();
    for (const listener of this.reconnectListeners) this.safeCall(() => listener(this.generationValue));
  }

  /** The client failed: drop it and schedule a reconnect with backoff. Safe to call repeatedly. */
  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    this.live = false;
    this.backend = null;
    this.clearTimers();
    client.removeAllListeners('notification');
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    if (this.stopped || this.channels.size === 0) return;
    this.downSinceValue ??= Date.now();
    const delay = this.backoff.next();
    const message = `LISTEN connection lost (${(err as Error)?.message ?? err}); reconnecting in ${delay} ms`;
    if (!this.options.outage?.failed('LISTEN connection', err, message)) this.logger.warn(message);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.enqueue(() => this.connect());
    }, delay);
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    this.live = false;
    this.backend = null;
    this.clearTimers();
    if (!client) return;
    client.removeAllListeners('notification');
    client.removeAllListeners('end');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  }

  private dispatch(channel: string, payload: string): void {
    if (channel === this.pingChannel) {
      if (this.probe?.received(payload)) return;
      if (this.pingDeadline) clearTimeout(this.pingDeadline);
      this.pingDeadline = null;
      this.schedulePing();
      return;
    }
    const listeners = this.channels.get(channel);
    if (!listeners) return;
    for (const listener of [...listeners]) this.safeCall(() => listener(payload, channel));
  }

  /** A listener that throws, or returns a promise that rejects, never affects the others. */
  private safeCall(fn: () => unknown): void {
    try {
      const r = fn() as unknown;
      if (r && typeof (r as Promise<unknown>).catch === 'function') {
        (r as Promise<unknown>).catch((err) => this.logger.error(`listener failed: ${(err as Error)?.message ?? err}`));
      }
    } catch (err) {
      this.logger.error(`listener failed: ${(err as Error)?.message ?? err}`);
    }
  }

  /** Half-open detection: a NOTIFY to ourselves must come back within the timeout. */
  private schedulePing(): void {
    if (this.pingTimer) clearTimeout(this.pingTimer);
    const client = this.client;
    if (!client || this.stopped) return;
    this.pingTimer = setTimeout(() => {
      this.pingTimer = null;
      if (this.client !== client || !this.live) return;
      this.pingDeadline = setTimeout(() => {
        this.pingDeadline = null;
        // Through a transaction pooler even the echo is luck: reconnecting would not help, polling does.
        if (this.probe?.status === 'failing') this.schedulePing();
        else this.lost(client, new Error('no echo of the liveness NOTIFY'));
      }, this.options.pingTimeoutMs ?? 5000);
      client.query('SELECT pg_notify($1, $2)', [this.pingChannel, 'ping']).catch((err) => this.lost(client, err));
    }, this.options.pingIntervalMs ?? 10_000);
    this.pingTimer.unref?.();
  }

  private clearTimers(): void {
    this.probe?.stop();
    for (const t of [this.retryTimer, this.pingTimer, this.pingDeadline]) if (t) clearTimeout(t);
    this.retryTimer = this.pingTimer = this.pingDeadline = null;
  }
}
