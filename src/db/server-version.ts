import type { Pool } from 'pg';
import { UnsupportedServerError } from '../errors.js';

/** The oldest major tested (see the README's "Supported" table); older servers are refused. */
export const MINIMUM_SERVER_VERSION_NUM = 130000;
export const MINIMUM_SERVER_VERSION = '13';

/** Throws {@link UnsupportedServerError} for a server older than the minimum, naming both versions. */
export async function checkServerVersion(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ num: string; version: string }>(
    `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version`,
  );
  if (Number(rows[0].num) < MINIMUM_SERVER_VERSION_NUM) {
    throw new UnsupportedServerError(rows[0].version, MINIMUM_SERVER_VERSION);
  }
}
