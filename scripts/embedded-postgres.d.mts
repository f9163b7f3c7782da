export function freePort(): Promise<number>;
export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
  server: { start(): Promise<void>; stop(): Promise<void> };
  dispose(): Promise<void>;
}
export function startEmbeddedPostgres(options?: { prefix?: string; flags?: string[]; persistent?: boolean }): Promise<EmbeddedServer>;
