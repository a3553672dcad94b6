/**
 * Builds with `box:` set: kiwi-ng runs inside the box VM (guest protocol of the official boxes), the
 * description shared read-only, the bundle written into a staging dir that replaces the target dir
 * only when result.code says 0 and the reported files exist.
 */
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Box, boxFromData } from '../../boxes/box.js';
import type { ExecutorContext, StepExecutor, StepOutputs } from '../../core/executor.js';
import type { BoxStep, BuildStep, Project } from '../../core/model.js';
import { failWith, ok, type Result } from '../../core/result.js';
import { checkKiwiArgs } from '../../kiwi/build-options.js';
import { KiwiProgress } from '../../kiwi/progress.js';
import { tailLog } from '../kiwi/log-tail.js';
import { KIWI_RESULT_FILE, readKiwiResult } from '../kiwi/result-file.js';
import { withStagingDir } from '../kiwi/staging.js';
import { resolveAccel } from './accel.js';
import { qemuBinary } from './qemu-argv.js';
import { checkResultCode, listBundle, RESULT_CODE, RESULT_LOG } from './result-code.js';
import { runVm } from './vm.js';

/** Where the guest mounts the bundle share: kiwi.result.json written there names files under it. */
const GUEST_BUNDLE = '/bundle';

/** The kiwi-ng arguments carried in `kiwi="…"`: globals, `system build`, build options. */
export function boxedKiwiArgs(step: Pick<BuildStep, 'type' | 'profiles' | 'kiwiArgs'>): string[] {
  const { split } = checkKiwiArgs(step.kiwiArgs);
  const args: string[] = [];
  if (step.type) args.push(`--type=${step.type}`);
  for (const profile of step.profiles) args.push(`--profile=${profile}`);
  args.push(...split.global, 'system', 'build', ...split.command);
  return args;
}

function boxStepOf(project: Project | undefined, step: BuildStep): BoxStep | undefined {
  const boxStep = step.box === undefined ? undefined : project?.steps.get(step.box);
  return boxStep?.kind === 'box' ? boxStep : undefined;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Files of the bundle: from kiwi.result.json if the guest wrote one, else every file in it. */
async function bundleFiles(dir: string, step: string): Promise<Result<string[]>> {
  if (await exists(join(dir, KIWI_RESULT_FILE)))
    return readKiwiResult({ targetDir: dir, builtIn: GUEST_BUNDLE, step });
  const files = await listBundle(dir);
  const artifacts = files.filter((file) => !/\/result\.(code|log)$/.test(file));
  if (artifacts.length > 0) return ok(files);
  return failWith({
    step,
    reason: 'result-missing',
    message: `the box reported success but bundled no files into ${dir}`,
  });
}

/** Run-wide switches of the compatibility command (`kiwibox boxbuild --no-snapshot --box-debug`). */
export interface BoxedBuildSwitches {
  /** false: let the build write the box disk (`--no-snapshot`). Default true. */
  readonly snapshot?: boolean;
  /** Keep the guest running after the build (`kiwi-no-halt`); the timeout still applies. */
  readonly noHalt?: boolean;
}

async function runBoxed(
  step: BuildStep,
  ctx: ExecutorContext,
  switches: BoxedBuildSwitches,
): Promise<Result<StepOutputs>> {
  const box: Box | undefined =
    step.box === undefined ? undefined : boxFromData(ctx.upstream.get(step.box)?.data);
  if (!box) {
    return failWith({
      step: step.id,
      reason: 'box-missing',
      message: `box '${step.box}' has no resolved box in its outputs (did the box step run?)`,
      location: step.fields.box ?? step.location,
    });
  }
  const accel = await resolveAccel({
    requested: boxStepOf(ctx.project, step)?.accel ?? 'auto',
    arch: box.arch,
    kernel: box.kernel,
    output: ctx.output,
    step: step.id,
  });
  if (!accel.ok) return accel;
  const built = await withStagingDir(step.targetDir, async (staging) => {
    // A result.code left from an earlier run must never be read as this run's.
    await rm(join(staging, RESULT_CODE), { force: true });
    // Phases from the console's kiwi lines, package counts from kiwi's debug log in the bundle share.
    const progress = new KiwiProgress();
    const feed = (line: string, phases: boolean) => {
      const now = progress.feed(line, { phases });
      if (now) ctx.progress?.(now.phase, now.detail);
    };
    const output = (line: string, stream?: 'stdout' | 'stderr') => {
      ctx.output(line, stream);
      feed(line, true);
    };
    const tail = tailLog({ file: join(staging, RESULT_LOG), onLine: (line) => feed(line, false) });
    const ran = await runVm({
      box,
      accel: accel.value,
      kiwiArgs: boxedKiwiArgs(step),
      shares: [
        { tag: 'kiwidescription', path: step.description, readonly: true },
        { tag: 'kiwibundle', path: staging, readonly: false },
      ],
      sharing: step.sharing,
      snapshot: switches.snapshot,
      noHalt: switches.noHalt,
      // Full boxes (with a disk) wait for their NIC and fetch packages; initrd-only boxes need no network.
      // Official and host boxes need a network (their run_kiwi waits for it); Box.network says so.
      network: box.network || box.disk ? {} : undefined,
      timeoutMs: step.timeout * 1000,
      signal: ctx.signal,
      output,
      step: step.id,
    }).finally(() => tail.stop());
    if (!ran.ok) return ran;
    const code = await checkResultCode({ dir: staging, consoleTail: ran.value.console, step: step.id });
    if (!code.ok) return code;
    return bundleFiles(staging, step.id);
  });
  if (!built.ok) return built;
  const files = await bundleFiles(step.targetDir, step.id);
  return files.ok ? ok({ files: files.value, data: { box: box.digest } }) : files;
}

/**
 * The boxed-build executor. With the project it can name the exact emulator and weigh the step by the
 * box's vCPUs; without it, both emulators are listed and the weight is 1.
 */
export function createBoxedBuildExecutor(
  options: { readonly project?: Project } & BoxedBuildSwitches = {},
): StepExecutor<BuildStep> {
  const { project } = options;
  return {
    tools: (step, current) => {
      const boxStep = boxStepOf(project ?? current, step);
      return boxStep ? [qemuBinary(boxStep.arch)] : [qemuBinary('x86_64'), qemuBinary('aarch64')];
    },
    inputs: (step) => ({ dirs: [step.description], files: [], globs: [] }),
    weight: (step, current) => boxStepOf(project ?? current, step)?.cpus ?? 1,
    run: (step, ctx) => runBoxed(step, ctx, { snapshot: options.snapshot, noHalt: options.noHalt }),
  };
}

/** The executor without project knowledge (see createBoxedBuildExecutor). */
export const boxedBuildExecutor: StepExecutor<BuildStep> = createBoxedBuildExecutor();
