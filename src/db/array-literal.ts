/**
 * Postgres array literals for statement parameters, built with one join. `pg`'s own conversion
 * quotes and regex-escapes every element (numbers too) and grows the literal by concatenation:
 * for the acks' nine arrays that was a fifth of what the worker allocated per job
 * (`PROBE_HEAP_PROF=… node bench/probe-cpu.mjs`). The server parses the text exactly as it
 * parses `pg`'s: elements in double quotes, `\` and `"` escaped, NULL bare.
 */

/** A text[] (or jsonb[]: JSON text) literal; null elements are SQL NULL. */
export function textArray(values: ReadonlyArray<string | null>): string {
  if (values.length === 0) return '{}';
  for (const v of values) {
    if (v === null || v.includes('"') || v.includes('\\')) return `{${values.map(element).join(',')}}`;
  }
  return `{"${values.join('","')}"}`;
}

/** An int[] or float8[] literal (finite numbers; NaN and Infinity are spelled as float8 reads them). */
export function numberArray(values: readonly number[]): string {
  return `{${values.join(',')}}`;
}

function element(v: string | null): string {
  if (v === null) return 'NULL';
  return `"${v.replace(/[\\"]/g, '\\$&')}"`;
}
