import type { StepExecutor, StepOutputs } from '../../core/executor.js';
import type { BuildStep, StackStep } from '../../core/model.js';
import { fail, ok, type Result } from '../../core/result.js';
import { checkKiwiArgs } from '../../kiwi/build-options.js';
import { kiwiCacheDir } from '../../state/layout.js';
import { runHostKiwi } from './host-kiwi.js';
import { readKiwiResult } from './result-file.js';
import { withStagingDir } from './staging.js';

/** Host builds need root (kiwi-ng mounts and chroots); say how to avoid that. */
export function requireRoot(step: BuildStep | StackStep): Result<void> {
  if (process.getuid?.() === 0) return ok(undefined);
  return fail([
    {
      step: step.id,
      reason: 'needs-root',
      message: `'${step.id}' runs kiwi-ng on this host, which needs root: run kiwibox as root, or give the step a 'box:' to build inside a VM as a normal user`,
      location: step.location,
    },
  ]);
}

/**
 * kiwi-ng shares /var/cache/kiwi between all builds on a host, and two builds at once then fight over
 * apt's locks in it. Unless the user chose a cache, each build step gets its own (kept across runs).
 */
export function withOwnCache(globalArgs: readonly string[], dir: string): string[] {
  if (globalArgs.some((a) => a.startsWith('--shared-cache-dir'))) return [...globalArgs];
  return [...globalArgs, `--shared-cache-dir=${dir}`];
}

export const hostBuildExecutor: StepExecutor<BuildStep> = {
  tools: () => ['kiwi-ng'],
  inputs: (step) => ({ dirs: [step.description], files: [], globs: [] }),
  async run(step, ctx): Promise<Result<StepOutputs>> {
    const root = requireRoot(step);
    if (!root.ok) return root;
    const { split } = checkKiwiArgs(step.kiwiArgs);
    let builtIn = '';
    const built = await withStagingDir(step.targetDir, async (staging) => {
      builtIn = staging;
      const ran = await runHostKiwi({
        ctx,
        targetDir: staging,
        command: ['system', 'build'],
        type: step.type,
        profiles: step.profiles,
        globalArgs: withOwnCache(split.global, kiwiCacheDir(ctx.project.stateDir, step.id)),
        args: ['--description', step.description, '--target-dir', staging, ...split.command],
        cwd: ctx.project.dir,
        step: step.id,
      });
      if (!ran.ok) return ran;
      return readKiwiResult({ targetDir: staging, step: step.id });
    });
    if (!built.ok) return built;
    const files = await readKiwiResult({ targetDir: step.targetDir, builtIn, step: step.id });
    return files.ok ? ok({ files: files.value, data: {} }) : files;
  },
};
