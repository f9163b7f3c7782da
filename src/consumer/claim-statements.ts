import type { Pool } from 'pg';
import { statementNames } from '../db/identifier.js';
import { ackAndClaimSql } from '../db/sql/ack-and-claim.js';
import { claimJobsSql, type ClaimedRow } from '../db/sql/claim-jobs.js';
import { ackParams, type Ack } from './acker.js';

/** A claim's parameters: worker id, queue, names, limit, lease (see claim-jobs). */
export type ClaimParams = [lockedBy: string, queue: string, names: string[], limit: number, leaseMs: number];

/**
 * One queue's claim statements, prepared (parsing and planning them cost about as much as running
 * them): a claim alone, or queued acks and a claim in one round trip.
 */
export class ClaimStatements {
  private readonly claimSql: string;
  private readonly claimName: string;
  private readonly ackAndClaimSql: string;
  private readonly ackAndClaimName: string;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    schema: string,
    /** Names a prepared statement after the table's size (see PlanSizeClass). */
    private readonly statementName: (base: string) => string | undefined,
  ) {
    const names = statementNames(schema);
    this.claimSql = claimJobsSql(schemaSql);
    this.claimName = names.claim;
    this.ackAndClaimSql = ackAndClaimSql(schemaSql);
    this.ackAndClaimName = names.ackAndClaim;
  }

  async claim(params: ClaimParams): Promise<ClaimedRow[]> {
    return (await this.pool.query<ClaimedRow>({ name: this.statementName(this.claimName), text: this.claimSql, values: params })).rows;
  }

  /** The acks' rows come back too, marked `acked` (the ones that landed: the acks are fenced). */
  async ackAndClaim(acks: Ack[], params: ClaimParams): Promise<Array<ClaimedRow & { acked: boolean }>> {
    const values = [...ackParams(acks), ...params];
    return (await this.pool.query({ name: this.statementName(this.ackAndClaimName), text: this.ackAndClaimSql, values })).rows;
  }
}
