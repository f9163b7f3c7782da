import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

/**
 * ulid's default PRNG calls crypto.getRandomValues once per character: 16 calls for each new
 * millisecond, about 0.1 ms of a single push after an idle moment (bench/probe.mjs, push call to
 * INSERT sent: 0.23 -> 0.08 ms). This draws the same crypto-strength bytes from a buffer
 * refilled 4 KiB at a time.
 */
const bytes = Buffer.alloc(4096);
let next = bytes.length;

function pooledRandom(): number {
  if (next >= bytes.length) {
    randomFillSync(bytes);
    next = 0;
  }
  return bytes[next++] / 256;
}

/** A new job id: a ULID, monotonic within a millisecond, so ids of one process sort in push order. */
export const nextJobId: () => string = monotonicFactory(pooledRandom);
