/**
 * The boot-test executor: finds the image step's disk or iso in its kiwi.result.json, picks the
 * firmware (as written, else from the image's type) and the accelerator (accel.ts: KVM only when a
 * probe boot works), and boots it (boot-vm.ts). Its fingerprint holds its own config, the image step's
 * token (whose outputs carry the disk's sha256), the resolved firmware and, for UEFI, the OVMF files'
 * sha256, so an unchanged image on unchanged firmware is not booted again.
 */
import { constants, existsSync, readdirSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { defaultFirmware, imageTypeOf } from '../../boot/image-type.js';
import { findOvmf } from '../../boot/ovmf.js';
import { compilePatterns } from '../../boot/patterns.js';
import type { ExecutorContext, StepExecutor, StepOutputs } from '../../core/executor.js';
import type { BootTestStep, BuildStep, Project, StackStep } from '../../core/model.js';
import { failWith, ok, type Result } from '../../core/result.js';
import { resolveAccel } from '../qemu/accel.js';
import { boot } from './boot-vm.js';
import { findBootableFile } from './image-file.js';
import { ovmfDigest } from './ovmf-digest.js';

function imageStepOf(project: Project, step: BootTestStep): BuildStep | StackStep | undefined {
  const image = project.steps.get(step.image);
  return image?.kind === 'build' || image?.kind === 'stack' ? image : undefined;
}

/** The firmware the test boots with: as written, else the image type's. */
export function firmwareOf(project: Project, step: BootTestStep): 'bios' | 'uefi' {
  if (step.firmware) return step.firmware;
  const image = imageStepOf(project, step);
  const type = image ? imageTypeOf(image) : undefined;
  return type ? defaultFirmware(type) : 'bios';
}

/** The image's own kernels (kiwi keeps the image root in the target dir; Debian names them vmlinuz-VERSION). */
function imageKernels(image: BuildStep | StackStep): string[] {
  const boot = join(image.targetDir, 'build', 'image-root', 'boot');
  try {
    return readdirSync(boot)
      .filter((name) => /^(vmlinuz|bzImage)/.test(name))
      .sort()
      .reverse()
      .map((name) => join(boot, name));
  } catch {
    return [];
  }
}

/**
 * KVM is used only when a probe boot shows it works (accel.ts); the probe needs a kernel: the image's
 * own (kiwi keeps its root in the target dir), else the host's. Without /dev/kvm there is nothing to probe.
 */
async function chooseAccel(step: BootTestStep, image: BuildStep | StackStep, ctx: ExecutorContext) {
  const base = { arch: 'x86_64' as const, output: ctx.output, step: step.id };
  if (step.accel !== 'auto') return resolveAccel({ ...base, requested: step.accel, kernel: '' });
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return ok('tcg' as const);
  }
  const kernel = [...imageKernels(image), `/boot/vmlinuz-${release()}`].find((path) => existsSync(path));
  if (!kernel) {
    ctx.output(
      'warning: no kernel to probe KVM with: booting under TCG emulation, which is much slower',
      'stderr',
    );
    return ok('tcg' as const);
  }
  return resolveAccel({ ...base, requested: 'auto', kernel });
}

async function runBootTest(step: BootTestStep, ctx: ExecutorContext): Promise<Result<StepOutputs>> {
  const image = imageStepOf(ctx.project, step);
  if (!image) {
    return failWith({
      step: step.id,
      reason: 'wrong-step-kind',
      message: `image '${step.image}' is not a build or stack`,
    });
  }
  const file = await findBootableFile({ targetDir: image.targetDir, imageStep: image.id, step: step.id });
  if (!file.ok) return file;
  const firmware = firmwareOf(ctx.project, step);
  const ovmf = firmware === 'uefi' ? findOvmf() : undefined;
  if (firmware === 'uefi' && !ovmf) {
    return failWith({
      step: step.id,
      reason: 'ovmf-missing',
      message: "UEFI boot needs OVMF firmware: install the Debian package 'ovmf'",
    });
  }
  const accel = await chooseAccel(step, image, ctx);
  if (!accel.ok) return accel;
  ctx.output(
    `boot: ${file.value.path} (${file.value.format}, ${firmware}, ${accel.value}, ${step.memory}, ${step.cpus} vCPU)`,
    'stderr',
  );
  const ran = await boot({
    file: file.value,
    uefi: ovmf,
    accel: accel.value,
    memory: step.memory,
    cpus: step.cpus,
    expect: compilePatterns(step.expect),
    failOn: compilePatterns(step.failOn),
    timeoutMs: step.timeout * 1000,
    signal: ctx.signal,
    output: ctx.output,
    progress: ctx.progress,
    step: step.id,
  });
  if (!ran.ok) return ran;
  const last = ran.value.seenAtMs.at(-1) ?? 0;
  return ok({
    files: [],
    data: { firmware, accel: accel.value, 'seconds-to-last-expect': (last / 1000).toFixed(1) },
  });
}

export const bootTestExecutor: StepExecutor<BootTestStep> = {
  tools: () => ['qemu-system-x86_64', 'qemu-img'],
  inputs: () => ({ dirs: [], files: [], globs: [] }),
  extra: async (step, { project }) => {
    const firmware = firmwareOf(project, step);
    const ovmf = firmware === 'uefi' ? findOvmf() : undefined;
    // Without OVMF the run fails with ovmf-missing; the fingerprint just says so.
    if (!ovmf) return ok({ firmware });
    const [code, vars] = await Promise.all([ovmfDigest(ovmf.code, step.id), ovmfDigest(ovmf.vars, step.id)]);
    if (!code.ok) return code;
    if (!vars.ok) return vars;
    return ok({ firmware, 'ovmf-code': code.value, 'ovmf-vars': vars.value });
  },
  weight: (step) => step.cpus,
  run: runBootTest,
};
