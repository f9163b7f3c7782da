export const NODE_MAJORS: number[];

export interface NodeBinary {
  path: string;
  /** e.g. "24.22.3" */
  version: string;
  major: number;
}

export function nodeBinary(major: number): NodeBinary;
