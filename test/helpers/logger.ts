import type { LoggerService } from '@nestjs/common';

/** A Nest logger that keeps every line with its context, for tests that expect one. */
export class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  readonly logs: string[] = [];
  readonly errors: string[] = [];
  /** Every line as "[context] message", in order, whatever its level. */
  readonly lines: string[] = [];
  log(message: unknown, context?: string): void {
    this.logs.push(String(message));
    this.lines.push(`[${context ?? ''}] ${String(message)}`);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.errors.push(String(message));
    this.lines.push(`[${String(rest.at(-1) ?? '')}] ${String(message)}`);
  }
  debug(): void {}
  verbose(): void {}
  warn(message: unknown, context?: string): void {
    this.warnings.push(String(message));
    this.lines.push(`[${context ?? ''}] ${String(message)}`);
  }
}
