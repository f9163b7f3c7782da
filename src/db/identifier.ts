/** Quotes an identifier for SQL. Only the validated schema name is ever interpolated. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The NOTIFY channel the insert trigger of `schema` uses (see migrations/0001_init.sql). */
export function jobsChannel(schema: string): string {
  return `${schema}.jobs`;
}

/** A short stable tag for prepared-statement names, so two schemas never share one. */
export function statementTag(schema: string): string {
  let h = 2166136261;
  for (let i = 0; i < schema.length; i++) h = Math.imul(h ^ schema.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}
