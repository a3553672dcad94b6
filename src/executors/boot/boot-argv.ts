/**
 * The QEMU command line of a boot test: no default devices, the disk (through its throw-away overlay)
 * or iso, the serial console on a unix socket kiwibox listens on, QMP for the power-off, and SeaBIOS
 * or OVMF. `-no-reboot` turns a guest reboot into QEMU's exit.
 */
import type { OvmfFiles } from '../../boot/ovmf.js';

/** What QEMU boots: a disk (its qcow2 overlay) or an iso as a read-only CD-ROM. */
export type BootMedia =
  | { readonly kind: 'disk'; readonly overlay: string }
  | { readonly kind: 'cdrom'; readonly path: string };

export interface BootArgvOptions {
  readonly media: BootMedia;
  readonly accel: 'kvm' | 'tcg';
  readonly memory: string;
  readonly cpus: number;
  /** Unix socket the serial console connects to (kiwibox is the server). */
  readonly consoleSocket: string;
  readonly qmpSocket: string;
  /** UEFI: OVMF code (read-only) and this run's copy of the vars. */
  readonly uefi?: OvmfFiles;
}

/** QEMU option values are comma-separated: a comma in a path is written twice. */
const qemuPath = (path: string) => path.replaceAll(',', ',,');

export function bootArgv(options: BootArgvOptions): [string, ...string[]] {
  const argv: [string, ...string[]] = [
    'qemu-system-x86_64',
    '-accel',
    options.accel,
    ...(options.accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m',
    options.memory,
    '-smp',
    String(options.cpus),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-chardev',
    `socket,id=console,path=${qemuPath(options.consoleSocket)}`,
    '-serial',
    'chardev:console',
    '-qmp',
    `unix:${qemuPath(options.qmpSocket)},server=on,wait=off`,
    '-device',
    'virtio-rng-pci',
  ];
  if (options.uefi) {
    argv.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${qemuPath(options.uefi.code)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${qemuPath(options.uefi.vars)}`,
    );
  }
  if (options.media.kind === 'disk') {
    argv.push('-drive', `file=${qemuPath(options.media.overlay)},format=qcow2,if=virtio,cache=unsafe`);
  } else {
    argv.push('-drive', `file=${qemuPath(options.media.path)},format=raw,media=cdrom,readonly=on`);
  }
  return argv;
}
