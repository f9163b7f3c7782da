/** A job that passed every check, in the shape the insert statement binds. */
export interface ValidatedJob {
  id: string | null;
  name: string;
  payload: string;
  maxAttempts: number | null;
  priority: number;
  runAt: Date | null;
  delayMs: number | null;
  metadata: string;
  idempotencyKey: string | null;
}
