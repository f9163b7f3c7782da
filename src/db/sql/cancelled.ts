/** Which of the given jobs ($1) are cancelled: the poll-time check of the jobs a process holds, in case a cancel's NOTIFY was lost. */
export function cancelledAmongSql(s: string): string {
  return `SELECT id FROM ${s}.jobs WHERE id = ANY($1::text[]) AND status = 'cancelled'`;
}
