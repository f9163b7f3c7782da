import { describe, expect, it } from 'vitest';
import { PushLimiter, pushLimitFor } from '../../src/producer/push-limiter.js';
import { deferred } from '../helpers/wait.js';

describe('PushLimiter (pushes never hold every pool connection of a process with workers)', () => {
  it('runs at most `limit` at once, starts the waiting ones in call order, and a failure frees its place', async () => {
    const limiter = new PushLimiter(2);
    const gates = Array.from({ length: 5 }, () => deferred<void>());
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    const runs = gates.map((g, i) =>
      limiter.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        try {
          await g.promise;
          if (i === 1) throw new Error('insert failed');
          return i;
        } finally {
          running--;
        }
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    gates[1].resolve(); // fails: its place goes to the next in line
    await expect(runs[1]).rejects.toThrow('insert failed');
    expect(started).toEqual([0, 1, 2]);
    for (const i of [4, 3, 2, 0]) gates[i].resolve();
    expect(await Promise.all([runs[0], runs[2], runs[3], runs[4]])).toEqual([0, 2, 3, 4]);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    // Nothing left held: a new run starts at once.
    let ranAtOnce = false;
    const next = limiter.run(async () => (ranAtOnce = true));
    await Promise.resolve();
    expect(ranAtOnce).toBe(true);
    await next;
  });

  it('leaves one connection of the pool to the worker, none for a producer-only process', () => {
    expect(pushLimitFor(10, true)).toBe(9);
    expect(pushLimitFor(1, true)).toBe(1);
    expect(pushLimitFor(10, false)).toBe(Number.POSITIVE_INFINITY);
  });
});
