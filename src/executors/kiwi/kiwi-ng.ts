/**
 * Running the host's kiwi-ng. Global options (`--type`, `--profile`, `--config`, `--logfile`) go
 * before the `system <verb>` command, as kiwi-ng's docopt grammar wants.
 */
import type { Result } from '../../core/result.js';
import { type ProcessResult, runProcess } from '../../process/run.js';

export interface KiwiNgOptions {
  /** `system build`, `system create`, `system prepare`, … */
  readonly command: readonly ['system', 'build' | 'create' | 'prepare'];
  readonly type?: string;
  readonly profiles?: readonly string[];
  /** Other global options, e.g. `['--config', file]`. */
  readonly globalArgs?: readonly string[];
  /** Options after the command: `--description D --target-dir T …`. */
  readonly args: readonly string[];
  readonly cwd: string;
  readonly signal?: AbortSignal;
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  readonly step?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** `env` is the whole environment, not additions to kiwibox's own. */
  readonly replaceEnv?: boolean;
}

/** The argv for a kiwi-ng call (pure, for tests and `plan`). */
export function kiwiNgArgv(options: Omit<KiwiNgOptions, 'cwd'>): [string, ...string[]] {
  const argv: [string, ...string[]] = ['kiwi-ng'];
  if (options.type) argv.push('--type', options.type);
  for (const profile of options.profiles ?? []) argv.push('--profile', profile);
  argv.push(...(options.globalArgs ?? []), ...options.command, ...options.args);
  return argv;
}

/** Runs kiwi-ng to its end; kiwi-ng gets SIGTERM on abort (it cleans its mounts), SIGKILL 30 s later. */
export function runKiwiNg(options: KiwiNgOptions): Promise<Result<ProcessResult>> {
  return runProcess({
    argv: kiwiNgArgv(options),
    cwd: options.cwd,
    env: options.env,
    ...(options.replaceEnv ? { replaceEnv: true } : {}),
    signal: options.signal,
    killAfterMs: 30_000,
    onLine: options.onLine,
    step: options.step,
  });
}
