/**
 * Reporters render events; they are the only code that writes to the terminal.
 */
import type { KiwiboxEvent } from '../core/events.js';

export interface Reporter {
  event(event: KiwiboxEvent): void;
  /** Stops timers and leaves the terminal clean. */
  close(): void;
}

export type ReporterName = 'plain' | 'status' | 'ndjson';

/** Colour only for a terminal, and never when NO_COLOR is set (any value, per no-color.org). */
export function useColor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

/** `1m12s`, `3.4s`, `120ms`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  return s < 3600
    ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
