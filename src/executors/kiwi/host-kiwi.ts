/**
 * kiwi-ng on this host for a step (host builds and stacks): with kiwibox's partx shim where this
 * kernel needs it (partx-shim.ts), and the running phase reported as step progress, read from
 * kiwi's stdout and, when there is one, its debug log file (package counts).
 */
import { join, resolve } from 'node:path';
import type { ExecutorContext } from '../../core/executor.js';
import type { Result } from '../../core/result.js';
import { KiwiProgress } from '../../kiwi/progress.js';
import type { ProcessResult } from '../../process/run.js';
import { type KiwiNgOptions, runKiwiNg } from './kiwi-ng.js';
import { tailLog } from './log-tail.js';
import { partxShimEnv } from './partx-shim.js';

/** The log file kiwi-ng writes: `--logfile X` if given, else `system build`'s default in the target dir. */
export function kiwiLogFile(options: {
  readonly globalArgs: readonly string[];
  readonly command: KiwiNgOptions['command'];
  readonly targetDir: string;
}): string | undefined {
  const args = options.globalArgs;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--logfile=')) return arg.slice('--logfile='.length);
    if (arg === '--logfile') return args[i + 1];
  }
  return options.command[1] === 'build' ? join(options.targetDir, 'build', 'image-root.log') : undefined;
}

/**
 * kiwibox's environment for kiwi-ng, without TMPDIR: kiwi passes its environment into the image
 * root's chroot, where a host TMPDIR does not exist, and package scripts fail on it (the kernel's
 * dracut hook: "Invalid tmpdir"). kiwi itself uses --temp-dir (default /var/tmp).
 */
export function hostKiwiEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (value !== undefined && key !== 'TMPDIR') out[key] = value;
  return out;
}

export async function runHostKiwi(
  options: Omit<KiwiNgOptions, 'env' | 'onLine' | 'signal'> & {
    readonly ctx: ExecutorContext;
    /** Where kiwi-ng builds (`--target-dir`), for its default log file. */
    readonly targetDir: string;
  },
): Promise<Result<ProcessResult>> {
  const { ctx, targetDir, ...kiwi } = options;
  const shim = await partxShimEnv(ctx.tmpDir);
  const env = { ...hostKiwiEnv(process.env), ...shim };
  if (shim.PATH)
    ctx.output('kiwibox: this kernel has no partition table parsers: partx-blkpg-shim is first on PATH');
  const progress = new KiwiProgress();
  const feed = (line: string, phases: boolean) => {
    const now = progress.feed(line, { phases });
    if (now) ctx.progress?.(now.phase, now.detail);
  };
  const logFile = kiwiLogFile({ globalArgs: kiwi.globalArgs ?? [], command: kiwi.command, targetDir });
  const tail = logFile
    ? tailLog({ file: resolve(ctx.project.dir, logFile), onLine: (line) => feed(line, false) })
    : undefined;
  try {
    return await runKiwiNg({
      ...kiwi,
      env,
      replaceEnv: true,
      signal: ctx.signal,
      onLine: (line, stream) => {
        ctx.output(line, stream);
        feed(line, true);
      },
    });
  } finally {
    await tail?.stop();
  }
}
