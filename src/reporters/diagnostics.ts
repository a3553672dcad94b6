/**
 * Prints failures the way compilers do:
 *
 *   kiwibox.yaml:7:10: error[unknown-step]: box 'lep' is not a step in this file
 *       7 |     box: lep
 *         |          ^^^
 *     kiwibox.yaml:2:3: note: first declared here
 */
import { relative } from 'node:path';
import pc from 'picocolors';
import type { Failure, Location } from '../core/result.js';
import { lineColOf, lineText, sourceText } from '../core/source.js';

export interface FormatOptions {
  /** Paths are printed relative to this directory. */
  readonly cwd: string;
  readonly color: boolean;
}

function where(location: Location, cwd: string): { head: string; frame: string[] } {
  const text = sourceText(location.file);
  const path = relative(cwd, location.file) || location.file;
  if (text === undefined) return { head: path, frame: [] };
  const { line, col } = lineColOf(text, location.offset);
  const source = lineText(text, line);
  const width = Math.max(1, Math.min(location.length, source.length - col + 1));
  const gutter = String(line).length;
  return {
    head: `${path}:${line}:${col}`,
    frame: [
      `${' '.repeat(4)}${line} | ${source}`,
      `${' '.repeat(4 + gutter)} | ${' '.repeat(col - 1)}${'^'.repeat(width)}`,
    ],
  };
}

/** Lines for one failure (no trailing newline). */
export function formatFailure(failure: Failure, options: FormatOptions): string[] {
  const paint = options.color
    ? pc
    : { red: (s: string) => s, bold: (s: string) => s, cyan: (s: string) => s };
  const label = `${paint.red(paint.bold(`error[${failure.reason}]`))}: ${failure.message}`;
  const step = failure.step && !failure.location ? `${failure.step}: ` : '';
  if (!failure.location) return [`${step}${label}`];
  const main = where(failure.location, options.cwd);
  const lines = [`${main.head}: ${label}`, ...main.frame];
  for (const related of failure.related ?? []) {
    const r = where(related.location, options.cwd);
    lines.push(`  ${r.head}: ${paint.cyan('note')}: ${related.message}`);
  }
  return lines;
}
