/**
 * Choosing the accelerator. `/dev/kvm` existing proves nothing (on a PVM host guests hang under KVM),
 * so `auto` boots the box kernel under KVM for real: with no root fs it must print its banner and
 * panic (panic=-1 + -no-reboot ends QEMU) within a deadline. The answer is cached per process and
 * emulator; without KVM the build runs under TCG, with a warning that it is much slower.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { arch as hostArch } from 'node:os';
import type { Arch } from '../../core/model.js';
import { failWith, ok, type Result } from '../../core/result.js';
import { spawnGroup, stopGroup, waitExit } from '../../process/group.js';
import { qemuBinary } from './qemu-argv.js';

export type Accel = 'kvm' | 'tcg';

/** The box architecture the host CPU runs natively. */
export function nativeArch(): Arch | undefined {
  const arch = hostArch();
  return arch === 'x64' ? 'x86_64' : arch === 'arm64' ? 'aarch64' : undefined;
}

const probes = new Map<string, Promise<{ works: boolean; why: string }>>();

/** Boots `kernel` under KVM once; true if it printed its banner or panic and QEMU ended within `timeoutMs`. */
export async function probeKvm(options: {
  readonly arch: Arch;
  readonly kernel: string;
  readonly timeoutMs?: number;
}): Promise<{ works: boolean; why: string }> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return { works: false, why: '/dev/kvm is not accessible' };
  }
  const aarch64 = options.arch === 'aarch64';
  const lines: string[] = [];
  const child = spawnGroup({
    argv: [
      qemuBinary(options.arch),
      ...(aarch64 ? ['-machine', 'virt'] : []),
      '-accel',
      'kvm',
      '-cpu',
      'host',
      '-m',
      '256',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-serial',
      'stdio',
      '-kernel',
      options.kernel,
      '-append',
      `console=${aarch64 ? 'ttyAMA0' : 'ttyS0'} panic=-1 root=/dev/kiwibox-kvm-probe`,
    ],
    onLine: (line) => {
      if (lines.length < 400) lines.push(line);
    },
  });
  const ended = await waitExit(child, options.timeoutMs ?? 20_000);
  if (!ended) await stopGroup(child, 2000);
  const exit = await child.exited;
  const booted = lines.some((line) => /Linux version|Kernel panic/.test(line));
  if (ended && booted) return { works: true, why: 'a KVM guest booted' };
  const last = lines.filter((line) => line.trim() !== '').slice(-1)[0];
  const why = !ended
    ? 'a KVM guest made no progress (timed out)'
    : `a KVM guest did not boot (exit ${exit.code ?? exit.signal ?? exit.error}${last ? `: ${last}` : ''})`;
  return { works: false, why };
}

/**
 * The accelerator for a box run: `tcg` as asked; `kvm` as asked (failing for a foreign arch);
 * `auto`: KVM if the probe boot works (cached), else TCG with a warning through `output`.
 */
export async function resolveAccel(options: {
  readonly requested: 'auto' | Accel;
  readonly arch: Arch;
  readonly kernel: string;
  readonly output: (line: string, stream?: 'stdout' | 'stderr') => void;
  readonly step?: string;
}): Promise<Result<Accel>> {
  const native = nativeArch() === options.arch;
  if (options.requested === 'tcg') return ok('tcg');
  if (options.requested === 'kvm') {
    if (native) return ok('kvm');
    return failWith({
      step: options.step,
      reason: 'kvm-unavailable',
      message: `accel: kvm cannot run an ${options.arch} box on this ${hostArch()} host; use accel: tcg or auto`,
    });
  }
  if (!native) return ok('tcg');
  const key = qemuBinary(options.arch);
  let probe = probes.get(key);
  if (!probe) {
    probe = probeKvm({ arch: options.arch, kernel: options.kernel });
    probes.set(key, probe);
  }
  const answer = await probe;
  if (answer.works) return ok('kvm');
  options.output(
    `warning: KVM is not usable (${answer.why}); running the box under TCG emulation, which is much slower`,
    'stderr',
  );
  return ok('tcg');
}
