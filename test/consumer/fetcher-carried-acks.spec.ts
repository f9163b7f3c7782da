import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { Acker } from '../../src/consumer/acker.js';
import { Fetcher } from '../../src/consumer/fetcher.js';
import type { HandlerDefinition } from '../../src/consumer/handler-definition.js';
import { Worker } from '../../src/consumer/worker.js';
import type { ClaimedRow } from '../../src/db/sql/claim-jobs.js';
import { deferred } from '../helpers/wait.js';

/** A statement sent to the fake pool, answered by the test. */
interface Sent {
  text: string;
  values: unknown[];
  answer: (result: { rows: unknown[]; rowCount?: number }) => void;
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
const row = (id: string, name: string): ClaimedRow => ({
  id,
  name,
  payload: {},
  attempts: 1,
  max_attempts: null,
  priority: 0,
  run_at: new Date(),
  created_at: new Date(),
  metadata: {},
  idempotency_key: null,
});

/**
 * A claim that carried acks lands with more jobs of a concurrency-1 handler than it can start and
 * hands the rest back. Until that release lands those rows are still `running`, so no other claim
 * may take their slots. It did: the landed claim's acks were taken out of the acker's count once
 * more, and with concurrency 3 a second claim for 2 went out (5 rows running; seen as a rare
 * failure of concurrency.spec.ts under load). A fake pool makes the interleaving the test's.
 */
describe('Fetcher: a landed claim that hands overflow back keeps its slots until it has', () => {
  it('claims nothing while the release is in flight, then refills the free slots', async () => {
    const sent: Sent[] = [];
    const pool = {
      query: (config: { text: string; values: unknown[] } | string, values?: unknown[]) =>
        new Promise((answer) => sent.push(typeof config === 'string' ? { text: config, values: values!, answer } : { ...config, answer })),
    } as unknown as Pool;
    const next = () => sent.shift()!;
    const gates: Array<() => void> = [];
    const handler = (name: string, concurrency?: number): HandlerDefinition => ({
      queue: 'q',
      name,
      label: name,
      concurrency,
      callback: () => {
        const gate = deferred<void>();
        gates.push(gate.resolve);
        return gate.promise;
      },
    });
    let fetcher!: Fetcher;
    const acker = new Acker(pool, '"s"', () => undefined, () => fetcher.slotFreed());
    const worker = new Worker(
      { name: 'q', concurrency: 3, pollIntervalMs: 60_000, prefetch: 0, directStart: false, maxAttempts: 3, backoff: { type: 'fixed', delayMs: 10 } },
      new Map([
        ['limited', handler('limited', 1)],
        ['free', handler('free')],
      ]),
      (ack) => acker.add(ack),
      () => fetcher.slotFreed(),
    );
    fetcher = new Fetcher({ pool, schemaSql: '"s"', schema: 's', queue: 'q', pollIntervalMs: 60_000, worker, workerId: () => 'w1', leaseMs: 30_000, acker, statementName: () => undefined });

    fetcher.start();
    const reconcile = next();
    expect(reconcile.text).toMatch(/NOT \(id = ANY/);
    reconcile.answer({ rows: [], rowCount: 0 });
    await turns(1);
    const first = next();
    expect(first.values.slice(2, 4)).toEqual([['limited', 'free'], 3]);
    first.answer({ rows: ['f1', 'f2', 'f3'].map((id) => row(id, 'free')) });
    await turns(1);
    expect(worker.size).toBe(3);

    // The three finish together; their acks ride in the next claim, which brings three 'limited' jobs.
    for (const open of gates.splice(0)) open();
    await turns(2);
    const second = next();
    expect(second.text).toMatch(/^WITH acked AS/);
    expect(second.values[0]).toEqual(['f1', 'f2', 'f3']);
    second.answer({
      rows: [
        ...['l1', 'l2', 'l3'].map((id) => ({ ...row(id, 'limited'), acked: false })),
        ...['f1', 'f2', 'f3'].map((id) => ({ id, acked: true })),
      ],
    });
    await turns(3);
    expect(worker.size).toBe(1); // l1; its handler has no room for l2 and l3
    const release = next();
    expect(release.text).toMatch(/SET status = 'pending'/);
    expect(release.values[0]).toEqual(['l2', 'l3']);
    // l1, l2 and l3 are running rows: the queue's concurrency. Nothing else may be claimed now.
    expect(sent.map((s) => s.values)).toEqual([]);

    release.answer({ rows: [{ id: 'l2' }, { id: 'l3' }] });
    await turns(2);
    const third = next();
    expect(third.values.slice(2, 4)).toEqual([['free'], 2]);

    third.answer({ rows: [] });
    for (const open of gates.splice(0)) open();
    const answering = setInterval(() => {
      for (const s of sent.splice(0)) s.answer({ rows: [], rowCount: 0 });
    }, 1);
    try {
      await fetcher.stop();
      await acker.stop(1000);
    } finally {
      clearInterval(answering);
    }
  });
});
