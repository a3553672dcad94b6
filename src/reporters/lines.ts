/**
 * The text of each event, shared by the plain and status reporters.
 */
import { relative } from 'node:path';
import pc from 'picocolors';
import type { KiwiboxEvent, RunSummary } from '../core/events.js';
import { describeReason } from '../fingerprint/explain.js';
import { formatFailure } from './diagnostics.js';
import { formatDuration } from './reporter.js';

export interface LineOptions {
  readonly cwd: string;
  readonly color: boolean;
}

const plainPaint = { green: String, red: String, dim: String, yellow: String, bold: String, cyan: String };

function summaryLines(summary: RunSummary, options: LineOptions): string[] {
  const paint = options.color ? pc : plainPaint;
  const parts = [
    `${summary.succeeded} ran`,
    `${summary.fresh} fresh`,
    ...(summary.restored
      ? [
          `${summary.restored} restored (${formatBytes(summary.restoredBytes ?? 0)}, saved ${formatDuration(summary.savedMs ?? 0)})`,
        ]
      : []),
    `${summary.failed} failed`,
    `${summary.skipped} skipped`,
  ];
  const lines = [
    `${summary.interrupted ? 'interrupted' : summary.failed ? paint.red('failed') : paint.green('done')}: ${parts.join(', ')} in ${formatDuration(summary.durationMs)}`,
  ];
  const first = summary.firstFailure;
  if (first) {
    const log = first.log ? ` (full log: ${relative(options.cwd, first.log)})` : '';
    lines.push(`first failure: ${first.step}${log}`);
  }
  return lines;
}

/** `12.3 MB`: decimal units, as registries and `du --si` count. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `packages 12/80`: a step's phase and its detail, as the status line and plain lines show it. */
export function progressText(event: { readonly phase: string; readonly detail?: string }): string {
  return event.detail ? `${event.phase} ${event.detail}` : event.phase;
}

/** Lines for an event, or none. `output` decides whether step output lines are shown. */
export function eventLines(
  event: KiwiboxEvent,
  options: LineOptions & { readonly output: boolean },
): string[] {
  const paint = options.color ? pc : plainPaint;
  switch (event.type) {
    case 'step-started': {
      const why = event.reasons.map(describeReason);
      const shown = why.slice(0, 3).join('; ') + (why.length > 3 ? `; and ${why.length - 3} more` : '');
      return [`${paint.cyan('run')}   ${event.step} ${paint.dim(`[${event.kind}]`)} ${paint.dim(shown)}`];
    }
    case 'step-fresh':
      return [`${paint.dim('fresh')} ${event.step}`];
    case 'step-succeeded':
      return [`${paint.green('ok')}    ${event.step} ${paint.dim(formatDuration(event.durationMs))}`];
    case 'step-restored':
      return [
        `${paint.green('cache')} ${event.step} ${paint.dim(`restored from cache, ${formatBytes(event.bytes)} in ${formatDuration(event.durationMs)}, saved ${formatDuration(event.savedMs)}`)}`,
      ];
    case 'step-failed':
      return [
        `${paint.red('FAIL')}  ${event.step} ${paint.dim(formatDuration(event.durationMs))}`,
        ...event.failures.flatMap((f) => formatFailure(f, options).map((l) => `      ${l}`)),
        ...(event.log ? [`      log: ${relative(options.cwd, event.log)}`] : []),
      ];
    case 'step-skipped': {
      const why =
        event.reason === 'dependency-failed'
          ? `dependency ${event.dependency} did not succeed`
          : event.reason === 'aborted'
            ? 'interrupted'
            : 'stopped after a failure (use --keep-going to continue)';
      return [`${paint.yellow('skip')}  ${event.step} ${paint.dim(why)}`];
    }
    case 'step-output':
      return options.output ? [`${paint.dim(`${event.step} |`)} ${event.line}`] : [];
    case 'run-finished':
      return summaryLines(event.summary, options);
    case 'diagnostics':
      return event.failures.flatMap((f) => formatFailure(f, options));
    case 'warning':
      return [`${paint.yellow('warning')}: ${event.step ? `${event.step}: ` : ''}${event.message}`];
    case 'info':
      return [`${event.step ? `${event.step}: ` : ''}${event.message}`];
    case 'watch-waiting':
      return [paint.dim(`watching ${event.files} files, ${event.steps} steps`)];
    case 'watch-change':
      return [`${paint.cyan('change')} ${event.files.map((f) => relative(options.cwd, f)).join(', ')}`];
    case 'watch-loop':
      return [
        `${paint.red('loop')}  ${event.step} writes its own inputs (${event.files.map((f) => relative(options.cwd, f)).join(', ')}); not re-running it`,
      ];
    case 'step-progress':
      return [`${paint.dim(`${event.step} :`)} ${progressText(event)}`];
    case 'run-started':
    case 'step-queued':
      return [];
  }
}
