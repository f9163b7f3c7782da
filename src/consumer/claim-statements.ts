import type { Pool } from 'pg';
import { statementNames } from '../db/identifier.js';
import { ackAndClaimSql } from '../db/sql/ack-and-claim.js';
import { claimJobsSql, type ClaimedRow } from '../db/sql/claim-jobs.js';
import { ackParams, type Ack } from './acker.js';
import type { FloorKey } from './claim-floor.js';

/** A claim's parameters: worker id, queue, names, limit, lease (see claim-jobs). */
export type ClaimParams = [lockedBy: string, queue: string, names: string[], limit: number, leaseMs: number];

/** A statement's text and prepared name. */
interface Statement {
  text: string;
  name: string;
}

/**
 * One queue's claim statements, prepared (parsing and planning them cost about as much as running
 * them): a claim alone, or queued acks and a claim in one round trip; each from the queue's start
 * or from a floor (see ClaimFloor).
 */
export class ClaimStatements {
  private readonly claimFull: Statement;
  private readonly claimFromFloor: Statement;
  private readonly ackAndClaimFull: Statement;
  private readonly ackAndClaimFromFloor: Statement;

  constructor(
    private readonly pool: Pool,
    schemaSql: string,
    schema: string,
    /** Names a prepared statement after the table's size (see PlanSizeClass). */
    private readonly statementName: (base: string) => string | undefined,
  ) {
    const names = statementNames(schema);
    this.claimFull = { text: claimJobsSql(schemaSql), name: names.claim };
    this.claimFromFloor = { text: claimJobsSql(schemaSql, 1, true), name: names.claimFromFloor };
    this.ackAndClaimFull = { text: ackAndClaimSql(schemaSql), name: names.ackAndClaim };
    this.ackAndClaimFromFloor = { text: ackAndClaimSql(schemaSql, true), name: names.ackAndClaimFromFloor };
  }

  async claim(params: ClaimParams, floor: FloorKey | null): Promise<ClaimedRow[]> {
    const statement = floor ? this.claimFromFloor : this.claimFull;
    const values = floor ? [...params, floor.priority, floor.runAtMs, floor.id] : params;
    return (await this.pool.query<ClaimedRow>({ name: this.statementName(statement.name), text: statement.text, values })).rows;
  }

  /** The acks' rows come back too, marked `acked` (the ones that landed: the acks are fenced). */
  async ackAndClaim(acks: Ack[], params: ClaimParams, floor: FloorKey | null): Promise<Array<ClaimedRow & { acked: boolean }>> {
    const statement = floor ? this.ackAndClaimFromFloor : this.ackAndClaimFull;
    const values = [...ackParams(acks), ...params];
    if (floor) values.push(floor.priority, floor.runAtMs, floor.id);
    return (await this.pool.query({ name: this.statementName(statement.name), text: statement.text, values })).rows;
  }
}
