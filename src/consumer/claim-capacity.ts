import type { HandlerDefinition } from './handler-definition.js';
import type { PrefetchBuffer } from './prefetch-buffer.js';

export interface ClaimCapacity {
  /** How many jobs may be claimed now. */
  limit: number;
  /** Names with a free handler slot. */
  names: string[];
}

/**
 * What a worker may claim now. `unacked` counts finished jobs whose ack is being written outside
 * the coming claim: they are still `running` in the database, so their slots stay taken until
 * it lands. `reserved` are the claims in flight: each may bring back up to its limit of jobs,
 * of any of its names. This keeps a process's running rows within its concurrency plus its
 * prefetch. With prefetch, nothing is claimed while the prefetched jobs are more than half of
 * it and every slot is busy: the claims that refill it are then large, not one per freed slot.
 */
export function claimCapacity(
  concurrency: number,
  handlers: ReadonlyMap<string, HandlerDefinition>,
  active: number,
  runningByName: ReadonlyMap<string, number>,
  prefetched: PrefetchBuffer,
  unacked: number,
  reserved: readonly ClaimCapacity[],
): ClaimCapacity {
  const prefetch = prefetched.limit;
  if (prefetch > 0 && prefetched.length > prefetch / 2 && active >= concurrency) return { limit: 0, names: [] };
  let free = concurrency + prefetch - active - prefetched.length - unacked;
  for (const r of reserved) free -= r.limit;
  if (free <= 0) return { limit: 0, names: [] };
  const names: string[] = [];
  let sum = 0;
  for (const [name, h] of handlers) {
    let room = free;
    if (h.concurrency !== undefined) {
      room = h.concurrency + prefetch - (runningByName.get(name) ?? 0) - prefetched.countFor(name);
      for (const r of reserved) if (r.names.includes(name)) room -= r.limit;
    }
    if (room > 0) {
      names.push(name);
      sum += room;
    }
  }
  return { limit: Math.min(free, sum), names };
}
