/**
 * The rsync calls of stash and stack. Stacking uses KIWI's own sync options (union semantics, no
 * --delete); stashing on top of an earlier layer uses --delete so deletions become whiteouts.
 */
import { chmod, stat } from 'node:fs/promises';
import type { Result } from '../../core/result.js';
import { runProcess } from '../../process/run.js';

/** Root-tree content kiwibox never stashes (as upstream): the directories stay, their content goes. */
export const STASH_EXCLUDES = ['/dev/*', '/proc/*', '/sys/*'] as const;

export interface RsyncOptions {
  /** Source directory; its content is synced (a trailing slash is added). */
  readonly source: string;
  readonly target: string;
  /** Mirror mode: delete what the source lacks (stash on top of a previous layer). */
  readonly mirror?: boolean;
  /** Keep directory symlinks of the target (`-K`), e.g. `/bin -> usr/bin` of a usr-merged base. */
  readonly keepDirlinks?: boolean;
  readonly excludes?: readonly string[];
  readonly cwd: string;
  readonly signal?: AbortSignal;
  readonly step?: string;
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** The argv (pure, for tests and the benchmark). */
export function rsyncArgv(options: Omit<RsyncOptions, 'cwd'>): [string, ...string[]] {
  // -aHAX --one-file-system --inplace is KIWI's Defaults.get_sync_options(); --numeric-ids keeps
  // ids of the tree instead of mapping them through the host's user names.
  const argv: [string, ...string[]] = ['rsync', '-aHAX', '--numeric-ids', '--one-file-system', '--inplace'];
  if (options.keepDirlinks) argv.push('--keep-dirlinks');
  if (options.mirror) argv.push('--delete');
  for (const pattern of options.excludes ?? []) argv.push(`--exclude=${pattern}`);
  argv.push(`${options.source.replace(/\/+$/, '')}/`, options.target);
  return argv;
}

/** Runs rsync; failures are `rsync-failed` (or `cancelled`). */
export async function rsyncTree(options: RsyncOptions): Promise<Result<void>> {
  const result = await runProcess({
    argv: rsyncArgv(options),
    cwd: options.cwd,
    signal: options.signal,
    step: options.step,
    onLine: options.onLine,
  });
  if (result.ok) return { ok: true, value: undefined };
  return {
    ok: false,
    error: result.error.map((f) => (f.reason === 'exit-non-zero' ? { ...f, reason: 'rsync-failed' } : f)),
  };
}

/**
 * Syncs an image mount into a root and restores the root's own mode afterwards: image mounts are
 * 0555 at the top, and rsync -a would copy that onto the target (KIWI's DataSync does the same).
 */
export async function rsyncKeepingMode(options: RsyncOptions): Promise<Result<void>> {
  const { mode } = await stat(options.target);
  const result = await rsyncTree(options);
  await chmod(options.target, mode & 0o7777);
  return result;
}
