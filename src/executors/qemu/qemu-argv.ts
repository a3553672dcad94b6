/**
 * QEMU's argument vector for one box run, as a pure function of named options (unit-tested argv; QEMU
 * is never started from a shell string). Direct kernel boot, no default devices, the console on a
 * stdio chardev the executor reads, QMP on a per-run socket for power-off, virtio-rng so the guest
 * has entropy at once, the disk (if any) behind `snapshot=on` (the overlay goes to the run's TMPDIR),
 * and no network unless asked for (then user networking, host forwards bound to 127.0.0.1 only).
 */
import type { Box } from '../../boxes/box.js';
import type { Arch } from '../../core/model.js';

/** A host directory shown to the guest under a mount tag. */
export interface QemuShare {
  readonly tag: string;
  readonly path: string;
  readonly readonly: boolean;
}

/** How the shares reach the guest: 9p devices, vhost-user sockets of running virtiofsd, or a backend's own args (sshfs). */
export type QemuSharing =
  | { readonly kind: '9p' }
  | { readonly kind: 'virtiofs'; readonly sockets: Readonly<Record<string, string>> }
  | { readonly kind: 'external'; readonly args: readonly string[]; readonly network?: boolean };

export interface QemuArgvOptions {
  readonly box: Pick<Box, 'arch' | 'kernel' | 'initrd' | 'disk' | 'memory' | 'cpus' | 'console'>;
  readonly accel: 'kvm' | 'tcg';
  /** Overrides of the box's memory (`2G`) and vCPUs. */
  readonly memory?: string;
  readonly cpus?: number;
  /** The complete kernel command line (see kiwi/guest-protocol.ts). */
  readonly cmdline: string;
  readonly shares: readonly QemuShare[];
  readonly sharing: QemuSharing;
  /** false: the build may write the box disk (`--no-snapshot`). Default true. */
  readonly snapshot?: boolean;
  /** User networking (the official boxes wait for their NIC and fetch packages); absent: no NIC. */
  readonly network?: { readonly hostForward?: { readonly hostPort: number; readonly guestPort: number } };
  /** Unix socket QEMU listens on for QMP. */
  readonly qmpSocket: string;
}

/** The emulator binary for a box architecture. */
export function qemuBinary(arch: Arch): string {
  return arch === 'aarch64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';
}

/** QEMU option values separate fields with commas; a literal comma is written twice. */
export function qemuOptValue(value: string): string {
  return value.replaceAll(',', ',,');
}

function diskFormat(path: string): string {
  return /\.qcow2$/i.test(path) ? 'qcow2' : 'raw';
}

/** The argv: `[binary, ...args]`. */
export function qemuArgv(options: QemuArgvOptions): [string, ...string[]] {
  const { box, sharing } = options;
  const memory = options.memory ?? box.memory;
  const cpus = options.cpus ?? box.cpus;
  // virtiofs needs the guest RAM in shared memory so virtiofsd can map it.
  const sharedMemory = sharing.kind === 'virtiofs';
  const machine = (box.arch === 'aarch64' ? 'virt' : 'pc') + (sharedMemory ? ',memory-backend=mem' : '');
  // Under TCG a rich CPU model costs time: x86 boots 10-30 % faster on qemu64 than on max, and on
  // arm64 (whose virt default is 32-bit) max with QEMU's cheap pointer authentication.
  const cpu = options.accel === 'kvm' ? 'host' : box.arch === 'aarch64' ? 'max,pauth-impdef=on' : 'qemu64';
  const argv: [string, ...string[]] = [
    qemuBinary(box.arch),
    '-machine',
    machine,
    '-accel',
    options.accel,
    '-cpu',
    cpu,
    '-m',
    memory,
    '-smp',
    String(cpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-kernel',
    box.kernel,
  ];
  if (box.initrd) argv.push('-initrd', box.initrd);
  argv.push('-append', options.cmdline);
  if (sharedMemory) argv.push('-object', `memory-backend-memfd,id=mem,size=${memory},share=on`);
  argv.push('-chardev', 'stdio,id=con0,signal=off');
  if (box.console.startsWith('hvc')) {
    argv.push('-device', 'virtio-serial-pci', '-device', 'virtconsole,chardev=con0');
  } else {
    argv.push('-serial', 'chardev:con0');
  }
  argv.push('-device', 'virtio-rng-pci');
  if (box.disk) {
    const snapshot = options.snapshot === false ? 'off' : 'on';
    argv.push(
      '-drive',
      `file=${qemuOptValue(box.disk)},if=virtio,format=${diskFormat(box.disk)},snapshot=${snapshot}`,
    );
  }
  const network = options.network ?? (sharing.kind === 'external' && sharing.network ? {} : undefined);
  if (network) {
    const forward = network.hostForward
      ? `,hostfwd=tcp:127.0.0.1:${network.hostForward.hostPort}-:${network.hostForward.guestPort}`
      : '';
    argv.push('-nic', `user,model=virtio-net-pci${forward}`);
  } else {
    argv.push('-nic', 'none');
  }
  argv.push(...shareArgs(options.shares, sharing));
  argv.push('-qmp', `unix:${qemuOptValue(options.qmpSocket)},server=on,wait=off`);
  return argv;
}

function shareArgs(shares: readonly QemuShare[], sharing: QemuSharing): string[] {
  const args: string[] = [];
  switch (sharing.kind) {
    case '9p':
      for (const share of shares) {
        // security_model=none: files keep the guest's modes and belong to the host user; passthrough
        // cannot create files as non-root, mapped-xattr leaves unusable 0600 files on the host.
        const ro = share.readonly ? ',readonly=on' : '';
        args.push(
          '-virtfs',
          `local,path=${qemuOptValue(share.path)},mount_tag=${share.tag},security_model=none,multidevs=remap${ro}`,
        );
      }
      return args;
    case 'virtiofs':
      shares.forEach((share, index) => {
        const socket = sharing.sockets[share.tag];
        if (socket === undefined) throw new Error(`Internal error: no virtiofs socket for ${share.tag}`);
        args.push(
          '-chardev',
          `socket,id=vfs${index},path=${qemuOptValue(socket)}`,
          '-device',
          `vhost-user-fs-pci,queue-size=1024,chardev=vfs${index},tag=${share.tag}`,
        );
      });
      return args;
    case 'external':
      return [...sharing.args];
  }
}
