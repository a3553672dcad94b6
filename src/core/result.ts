/**
 * Result and Failure: how every fallible operation reports. Exceptions are reserved for internal bugs
 * (see cli/main.ts, which turns a thrown error into an `internal-error`).
 */
import type { FailureReason } from './reasons.js';

/** A position in a source file, as a byte range. Printed as file:line:col. */
export interface Location {
  /** Absolute path of the file. */
  readonly file: string;
  /** 0-based character offset of the start. */
  readonly offset: number;
  /** Length in characters (0 is a point). */
  readonly length: number;
}

/**
 * One thing that went wrong. `reason` is a stable kebab-case code (printed as `error[reason]`) from
 * the catalogue in reasons.ts; tests and NDJSON consumers rely on it.
 */
export interface Failure {
  readonly reason: FailureReason;
  readonly message: string;
  /** Where in the user's files the problem is, when it has a place. */
  readonly location?: Location;
  /** Other places that explain it (each edge of a cycle, the first of two duplicates). */
  readonly related?: readonly { readonly message: string; readonly location: Location }[];
  /** Step the failure belongs to, if any. */
  readonly step?: string;
}

export type Result<T, E = Failure[]> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const fail = <E = Failure[]>(error: E): { ok: false; error: E } => ({ ok: false, error });

/** A single failure as a failed Result. */
export const failWith = (failure: Failure): { ok: false; error: Failure[] } => ({
  ok: false,
  error: [failure],
});

/** Message of an unknown thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
