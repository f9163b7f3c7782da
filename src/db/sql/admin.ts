import { JOB_COLUMNS } from './job-columns.js';

export function getJobSql(s: string): string {
  return `SELECT ${JOB_COLUMNS} FROM ${s}.jobs WHERE id = $1`;
}

export function statsSql(s: string): string {
  return `SELECT queue, status, count(*)::int AS count FROM ${s}.jobs GROUP BY queue, status`;
}
