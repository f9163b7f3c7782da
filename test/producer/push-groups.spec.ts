import { describe, expect, it } from 'vitest';
import type { ValidatedJob } from '../../src/encoding/validated-job.js';
import { GROUP_IN_FLIGHT, GROUP_MAX_JOBS, PushGroups } from '../../src/producer/push-groups.js';
import { deferred } from '../helpers/wait.js';

const job = (payload = '{}'): ValidatedJob =>
  ({ id: null, name: 'n', payload, metadata: '{}', maxAttempts: null, priority: 0, runAt: null, delayMs: null, idempotencyKey: null }) as unknown as ValidatedJob;

/** A writer whose statements each wait on a gate of their own; records what each carried. */
function gatedWriter(unreachable = (_err: unknown) => false) {
  const statements: Array<{ ids: string[]; gate: ReturnType<typeof deferred<void>> }> = [];
  return {
    statements,
    writer: {
      write: (_jobs: ValidatedJob[], ids: string[]) => {
        const gate = deferred<void>();
        statements.push({ ids: [...ids], gate });
        return gate.promise;
      },
      unreachable,
    },
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('PushGroups (group commit of concurrent pushes, logic alone)', () => {
  it('sends a lone push at once, and groups the calls made while GROUP_IN_FLIGHT statements are out', async () => {
    const { statements, writer } = gatedWriter();
    const groups = new PushGroups(writer);
    const calls = Array.from({ length: 10 }, (_, i) => groups.write([job()], [`id${i}`]));
    const many = groups.write([job(), job()], ['m1', 'm2']);
    expect(statements.map((s) => s.ids)).toEqual(Array.from({ length: GROUP_IN_FLIGHT }, (_, i) => [`id${i}`]));
    statements[0].gate.resolve();
    await calls[0];
    await flush();
    // The rest go as one statement, in call order.
    expect(statements).toHaveLength(GROUP_IN_FLIGHT + 1);
    expect(statements[GROUP_IN_FLIGHT].ids).toEqual([...Array.from({ length: 10 - GROUP_IN_FLIGHT }, (_, i) => `id${i + GROUP_IN_FLIGHT}`), 'm1', 'm2']);
    for (const s of statements) s.gate.resolve();
    await Promise.all([...calls, many]);
    // Idle again: the next push goes alone, at once.
    void groups.write([job()], ['later']);
    expect(statements.at(-1)!.ids).toEqual(['later']);
  });

  it('caps a group at GROUP_MAX_JOBS jobs and sends a call larger than that alone', async () => {
    const { statements, writer } = gatedWriter();
    const groups = new PushGroups(writer);
    const blockers = Array.from({ length: GROUP_IN_FLIGHT }, (_, i) => groups.write([job()], [`b${i}`]));
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    const a = groups.write(ids('a', 600).map(() => job()), ids('a', 600));
    const b = groups.write(ids('b', 600).map(() => job()), ids('b', 600)); // 1,200 > the cap: a group of its own
    const c = groups.write(ids('c', GROUP_MAX_JOBS + 1).map(() => job()), ids('c', GROUP_MAX_JOBS + 1));
    const d = groups.write([job()], ['d0']);
    statements[0].gate.resolve();
    statements[1].gate.resolve();
    await Promise.all(blockers);
    await flush();
    // Groups fill in call order and never pass the cap: [a], [b], [c], [d]; two go out at a time.
    expect(statements.slice(GROUP_IN_FLIGHT).map((s) => s.ids.length)).toEqual([600, 600]);
    statements[2].gate.resolve();
    statements[3].gate.resolve();
    await Promise.all([a, b]);
    await flush();
    expect(statements.slice(4).map((s) => s.ids.length)).toEqual([GROUP_MAX_JOBS + 1, 1]);
    for (const s of statements) s.gate.resolve();
    await Promise.all([c, d]);
  });

  it('a group refused by the server is written again call by call: each call gets its own outcome', async () => {
    const written: string[][] = [];
    let first = true;
    const groups = new PushGroups({
      write: async (_jobs, ids) => {
        await flush();
        if (ids.includes('dup') && ids.length > 1 && first) {
          first = false;
          throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
        }
        if (ids.includes('dup')) throw Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
        written.push(ids);
      },
      unreachable: () => false,
    });
    const outcomes = await Promise.allSettled([
      groups.write([job()], ['x0']),
      groups.write([job()], ['x1']),
      groups.write([job()], ['y0']),
      groups.write([job()], ['dup']),
      groups.write([job(), job()], ['y1', 'y2']),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[3] as PromiseRejectedResult).reason.code).toBe('23505');
    // x0 and x1 alone; the group [y0, dup, y1, y2] refused, then y0 and [y1, y2] each alone.
    expect(written).toEqual([['x0'], ['x1'], ['y0'], ['y1', 'y2']]);
  });

  it('a group that could not reach the server fails every call with that error, and is not sent again', async () => {
    let sends = 0;
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const groups = new PushGroups({
      write: async () => {
        sends++;
        await flush();
        throw down;
      },
      unreachable: (err) => err === down,
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => groups.write([job()], [`z${i}`])));
    expect(outcomes.every((o) => o.status === 'rejected' && o.reason === down)).toBe(true);
    expect(sends).toBe(GROUP_IN_FLIGHT + 1);
  });
});
