import type { ChildProcess } from 'node:child_process';

export function freePort(): Promise<number>;
export function requestedMajor(value?: string): number;

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  version: string;
  major: number;
  ids: { uid?: number; gid?: number };
}

export interface RunningServer {
  port: number;
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
  version: string;
  major: number;
  server: { start(): Promise<void>; stop(): Promise<void> };
  dispose(): Promise<void>;
}

export function initialiseDataDir(dataDir: string, binaries?: PostgresBinaries): Promise<void>;
export function startServer(
  dataDir: string,
  options?: { port?: number; flags?: string[]; onLog?: (line: string) => void; binaries?: PostgresBinaries },
): Promise<RunningServer>;
export function startEmbeddedPostgres(options?: {
  prefix?: string;
  flags?: string[];
  major?: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedServer>;
