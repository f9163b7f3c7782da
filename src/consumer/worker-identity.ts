import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who this process is to the database: a worker id (stored in `locked_by`) and a lease token
 * whose hash is stored in `workers`. The token never leaves the process. `renew()` is used when
 * the lease expired (the process was frozen or cut off): the old id's jobs belong to the rescuers.
 */
export class WorkerIdentity {
  private current!: { workerId: string; leaseToken: string; leaseHash: string };

  constructor() {
    this.renew();
  }

  get workerId(): string {
    return this.current.workerId;
  }

  get leaseHash(): string {
    return this.current.leaseHash;
  }

  renew(): void {
    const leaseToken = randomBytes(32).toString('hex');
    this.current = {
      workerId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
      leaseToken,
      leaseHash: hashLeaseToken(leaseToken),
    };
  }
}

export function hashLeaseToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
