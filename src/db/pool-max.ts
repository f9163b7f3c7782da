import type { Pool } from 'pg';

/** The pool's connection cap; pg-pool's own default for `max` is 10. */
export function poolMax(pool: Pool): number {
  return (pool as Pool & { options?: { max?: number } }).options?.max ?? 10;
}
