/**
 * Where commands print their results (plan, graph, why, validate): stdout for results, stderr for
 * diagnostics. The only other place besides reporters that touches the terminal.
 */
import type { Failure } from '../core/result.js';
import { formatFailure } from './diagnostics.js';
import { useColor } from './reporter.js';

export interface Output {
  /** A result line on stdout. */
  print(text: string): void;
  /** A message on stderr. */
  error(text: string): void;
  /** Failures with source frames on stderr. */
  failures(failures: readonly Failure[]): void;
  readonly cwd: string;
  readonly color: boolean;
}

export function terminalOutput(cwd: string): Output {
  const color = useColor(process.stderr);
  return {
    cwd,
    color,
    print: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    error: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    failures: (failures) => {
      for (const f of failures) process.stderr.write(`${formatFailure(f, { cwd, color }).join('\n')}\n`);
    },
  };
}
