import type { PostgresBinaries } from './embedded-postgres.mjs';

export const DEFAULT_MAJOR: number;
export const SUPPORTED_MAJORS: number[];
export function requestedMajor(value?: string): number;
export function serverIds(): { uid?: number; gid?: number };
export function canEnter(dir: string, ids: { uid?: number; gid?: number }): boolean;
export function canWrite(dir: string, ids: { uid?: number; gid?: number }): boolean;
export function postgresBinaries(major?: number): PostgresBinaries;
