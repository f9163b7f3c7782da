/** Quotes an identifier for SQL. Only the validated schema name is ever interpolated. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The NOTIFY channel the insert trigger of `schema` uses (see migrations/0001_init.sql). */
export function jobsChannel(schema: string): string {
  return `${schema}.jobs`;
}

/** The NOTIFY channel of operator actions workers must hear about (cancel, pause, resume). */
export function controlChannel(schema: string): string {
  return `${schema}.control`;
}

/** The NOTIFY channel of job events sent across processes (queues with `events: true`). */
export function eventsChannel(schema: string): string {
  return `${schema}.events`;
}

/** A short stable tag for prepared-statement names, so two schemas never share one. */
function statementTag(schema: string): string {
  let h = 2166136261;
  for (let i = 0; i < schema.length; i++) h = Math.imul(h ^ schema.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

/**
 * The names of a schema's prepared statements, in one place. The claim and ack names are bases:
 * PlanSizeClass adds the table's size class to them.
 */
export function statementNames(schema: string): {
  claim: string;
  claimFromFloor: string;
  ackAndClaim: string;
  ackAndClaimFromFloor: string;
  ack: string;
  insert: string;
  insertStarted: string;
  insertHanded: string;
} {
  const tag = statementTag(schema);
  return {
    claim: `pgq_claim_${tag}`,
    ackAndClaim: `pgq_ack_claim_${tag}`,
    claimFromFloor: `pgq_claim_floor_${tag}`,
    ackAndClaimFromFloor: `pgq_ack_claim_floor_${tag}`,
    ack: `pgq_ack_${tag}`,
    insert: `pgq_insert_${tag}`,
    insertStarted: `pgq_insert_started_${tag}`,
    insertHanded: `pgq_insert_handed_${tag}`,
  };
}
