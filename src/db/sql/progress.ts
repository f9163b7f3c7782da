/** A running job's progress ($4, JSON text), fenced like an ack: only while $1 is still running under worker $2, attempt $3. */
export function progressSql(s: string): string {
  return `UPDATE ${s}.jobs SET progress = $4::jsonb WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3`;
}
