/**
 * Values JSON.stringify drops or changes without a word: a function or a Symbol vanishes (or
 * becomes null in an array), a Map or a Set becomes `{}`, NaN and ±Infinity become null. In a
 * job's data or metadata that is data lost, so a push refuses them, naming the path. A Date is
 * fine (it becomes its ISO string, through its toJSON), and so is an undefined property (left out,
 * as an optional field is).
 */
function lossy(value: unknown): string | undefined {
  switch (typeof value) {
    case 'function':
      return 'a function';
    case 'symbol':
      return 'a Symbol';
    case 'number':
      return Number.isFinite(value) ? undefined : `${value}`;
    case 'object':
      if (value instanceof Map) return 'a Map';
      if (value instanceof Set) return 'a Set';
      return undefined;
    default:
      return undefined;
  }
}

/** Thrown by {@link stringifyKeepingEverything}: where the lossy value is and what it is. */
export class LossyValue {
  constructor(
    readonly path: string,
    readonly what: string,
  ) {}
}

const FOUND = Symbol('lossy');

/**
 * JSON.stringify(value), but a value it would drop or change throws {@link LossyValue} naming its
 * path below `root` (e.g. `data.items[2].when`). One check per value on the way; the paths are
 * worked out only when one is found. Other errors (a BigInt, a cycle) are thrown as they are.
 */
export function stringifyKeepingEverything(root: string, value: unknown): string | undefined {
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (lossy(v) !== undefined) throw FOUND;
      return v;
    });
  } catch (err) {
    if (err !== FOUND) throw err;
  }
  // Found one: walk again keeping each object's path, to name where it is.
  const paths = new Map<object, string>();
  try {
    JSON.stringify(value, function (this: object, key: string, v: unknown) {
      const parent = paths.get(this);
      // The first call's holder is JSON.stringify's own wrapper of the root.
      const here = parent === undefined ? root : Array.isArray(this) ? `${parent}[${key}]` : `${parent}.${key}`;
      const what = lossy(v);
      if (what !== undefined) throw new LossyValue(here, what);
      if (v !== null && typeof v === 'object') paths.set(v, here);
      return v;
    });
  } catch (err) {
    if (err instanceof LossyValue) throw err;
  }
  throw new LossyValue(root, 'a value JSON cannot store');
}
