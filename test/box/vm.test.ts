/**
 * The VM runner's fault paths with real QEMU (TCG): a hung guest is powered off at the timeout, a
 * QEMU that cannot start fails cleanly, an abort stops the VM; nothing is left running.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { probeKvm, resolveAccel } from '../../src/executors/qemu/accel.js';
import { runVm } from '../../src/executors/qemu/vm.js';
import { buildTestBox, leftoverProcesses, makeDescription, type TestBoxFiles, testBox } from './testbox.js';

let files: TestBoxFiles;
let work: string;
const base = tmpdir();

beforeAll(async () => {
  files = await buildTestBox('x86_64');
});

beforeEach(async () => {
  work = await mkdtemp(join(base, 'kbv-'));
});

afterEach(async () => {
  expect(await leftoverProcesses(work)).toEqual([]);
  expect((await readdir(work)).filter((name) => name.startsWith('kbvm-'))).toEqual([]);
  await rm(work, { recursive: true, force: true });
});

async function vm(options: {
  extraCmdline?: string;
  kernel?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  sharing?: '9p' | 'virtiofs';
  onLine?: (line: string) => void;
}) {
  const description = await makeDescription(join(work, 'desc'));
  const bundle = join(work, 'bundle');
  await makeDescription(bundle);
  const lines: string[] = [];
  const box = {
    ...testBox(files, { extraCmdline: options.extraCmdline }),
    ...(options.kernel ? { kernel: options.kernel } : {}),
  };
  const result = await runVm({
    box,
    accel: 'tcg',
    kiwiArgs: ['system', 'build'],
    shares: [
      { tag: 'kiwidescription', path: description, readonly: true },
      { tag: 'kiwibundle', path: bundle, readonly: false },
    ],
    sharing: options.sharing ?? '9p',
    timeoutMs: options.timeoutMs ?? 120_000,
    signal: options.signal ?? new AbortController().signal,
    output: (line) => {
      lines.push(line);
      options.onLine?.(line);
    },
    step: 'img',
    tmpRoot: work,
  });
  return { result, lines };
}

describe('runVm', () => {
  it('powers a hung guest off at the timeout', async () => {
    const { result, lines } = await vm({ extraCmdline: 'testbox_fault=_hang_', timeoutMs: 50_000 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error[0]?.reason).toBe('timeout');
    // The guest really was up and hanging, not failing to boot.
    expect(lines).toContain('testbox: fault: hanging');
    expect(lines.some((line) => line.includes('powering off'))).toBe(true);
    // QMP `quit` did it; no signal was needed.
    expect(lines.some((line) => line.includes('SIGTERM'))).toBe(false);
  });

  it('boots nothing when the run is aborted before it starts', async () => {
    const controller = new AbortController();
    controller.abort();
    const { result, lines } = await vm({ signal: controller.signal, sharing: 'virtiofs' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.reason).toBe('cancelled');
    expect(lines.some((line) => line.startsWith('$ qemu-system'))).toBe(false);
  });

  it('fails cleanly when QEMU cannot start (no such kernel)', async () => {
    const { result } = await vm({ kernel: join(work, 'no-such-vmlinux') });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error[0]?.reason).toBe('qemu-failed');
    expect(result.error[0]?.message).toContain('no-such-vmlinux');
  });

  it('stops the VM and its virtiofsd when the run is aborted', async () => {
    const controller = new AbortController();
    // Abort once the guest is up and hanging (or after 90 s, whatever happens first).
    const fallback = setTimeout(() => controller.abort(), 90_000);
    const { result, lines } = await vm({
      extraCmdline: 'testbox_fault=_hang_',
      sharing: 'virtiofs',
      signal: controller.signal,
      onLine: (line) => {
        if (line === 'testbox: fault: hanging') controller.abort();
      },
    });
    clearTimeout(fallback);
    expect(lines).toContain('testbox: fault: hanging');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.reason).toBe('cancelled');
  });
});

describe('accel', () => {
  it('auto: probes KVM with a real boot and falls back to TCG with a warning when it does not work', async () => {
    const warnings: string[] = [];
    const probe = await probeKvm({ arch: 'x86_64', kernel: files.kernel });
    const accel = await resolveAccel({
      requested: 'auto',
      arch: 'x86_64',
      kernel: files.kernel,
      output: (line) => warnings.push(line),
    });
    expect(accel.ok).toBe(true);
    if (!accel.ok) return;
    // Whatever this host can do, the choice follows the probe, and TCG comes with the warning.
    expect(accel.value).toBe(probe.works ? 'kvm' : 'tcg');
    expect(warnings.some((line) => /KVM is not usable.*TCG/.test(line))).toBe(!probe.works);
    expect(await leftoverProcesses('kiwibox-kvm-probe')).toEqual([]);
  });

  it('never uses KVM for a foreign architecture', async () => {
    const tcg = await resolveAccel({ requested: 'auto', arch: 'aarch64', kernel: '/x', output: () => {} });
    expect(tcg).toEqual({ ok: true, value: 'tcg' });
    const kvm = await resolveAccel({ requested: 'kvm', arch: 'aarch64', kernel: '/x', output: () => {} });
    expect(kvm.ok).toBe(false);
  });
});
