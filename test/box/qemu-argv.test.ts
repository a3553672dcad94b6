import { describe, expect, it } from 'vitest';
import { qemuArgv, qemuBinary } from '../../src/executors/qemu/qemu-argv.js';

const x86 = {
  arch: 'x86_64' as const,
  kernel: '/boxes/t/vmlinux',
  initrd: '/boxes/t/initrd.cpio.gz',
  memory: '512M',
  cpus: 1,
  console: 'ttyS0',
};
const shares = [
  { tag: 'kiwidescription', path: '/work/desc', readonly: true },
  { tag: 'kiwibundle', path: '/work/.out.kiwibox-staging', readonly: false },
];

describe('qemuArgv', () => {
  it('builds the x86_64 9p argv: TCG, no NIC, read-only description, console on stdio, QMP socket', () => {
    expect(
      qemuArgv({
        box: x86,
        accel: 'tcg',
        cmdline: 'console=ttyS0 kiwi="system build" sharing_backend=_9p_',
        shares,
        sharing: { kind: '9p' },
        qmpSocket: '/tmp/kbvm-1/qmp.sock',
      }),
    ).toEqual([
      'qemu-system-x86_64',
      '-machine',
      'pc',
      '-accel',
      'tcg',
      '-cpu',
      'qemu64',
      '-m',
      '512M',
      '-smp',
      '1',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-kernel',
      '/boxes/t/vmlinux',
      '-initrd',
      '/boxes/t/initrd.cpio.gz',
      '-append',
      'console=ttyS0 kiwi="system build" sharing_backend=_9p_',
      '-chardev',
      'stdio,id=con0,signal=off',
      '-serial',
      'chardev:con0',
      '-device',
      'virtio-rng-pci',
      '-nic',
      'none',
      '-virtfs',
      'local,path=/work/desc,mount_tag=kiwidescription,security_model=none,multidevs=remap,readonly=on',
      '-virtfs',
      'local,path=/work/.out.kiwibox-staging,mount_tag=kiwibundle,security_model=none,multidevs=remap',
      '-qmp',
      'unix:/tmp/kbvm-1/qmp.sock,server=on,wait=off',
    ]);
  });

  it('builds the aarch64 virtiofs argv: virt machine, shared memfd RAM, one vhost-user socket per share', () => {
    expect(
      qemuArgv({
        box: {
          ...x86,
          arch: 'aarch64',
          kernel: '/b/Image',
          initrd: undefined,
          console: 'ttyAMA0',
          memory: '1G',
        },
        accel: 'tcg',
        cpus: 2,
        cmdline: 'c',
        shares,
        sharing: {
          kind: 'virtiofs',
          sockets: { kiwidescription: '/r/vfs0.sock', kiwibundle: '/r/vfs1.sock' },
        },
        qmpSocket: '/r/qmp.sock',
      }),
    ).toEqual([
      'qemu-system-aarch64',
      '-machine',
      'virt,memory-backend=mem',
      '-accel',
      'tcg',
      '-cpu',
      'max,pauth-impdef=on',
      '-m',
      '1G',
      '-smp',
      '2',
      '-nodefaults',
      '-no-user-config',
      '-display',
      'none',
      '-no-reboot',
      '-kernel',
      '/b/Image',
      '-append',
      'c',
      '-object',
      'memory-backend-memfd,id=mem,size=1G,share=on',
      '-chardev',
      'stdio,id=con0,signal=off',
      '-serial',
      'chardev:con0',
      '-device',
      'virtio-rng-pci',
      '-nic',
      'none',
      '-chardev',
      'socket,id=vfs0,path=/r/vfs0.sock',
      '-device',
      'vhost-user-fs-pci,queue-size=1024,chardev=vfs0,tag=kiwidescription',
      '-chardev',
      'socket,id=vfs1,path=/r/vfs1.sock',
      '-device',
      'vhost-user-fs-pci,queue-size=1024,chardev=vfs1,tag=kiwibundle',
      '-qmp',
      'unix:/r/qmp.sock,server=on,wait=off',
    ]);
  });

  it('boots a disk box under KVM with snapshot, hvc0 console, user networking forwarded from 127.0.0.1 only', () => {
    const argv = qemuArgv({
      box: { ...x86, disk: '/store/Leap,1-Box.qcow2', console: 'hvc0' },
      accel: 'kvm',
      cmdline: 'c',
      shares: [],
      sharing: { kind: '9p' },
      network: { hostForward: { hostPort: 40123, guestPort: 22 } },
      qmpSocket: '/r/q',
    });
    expect(argv.slice(5, 7)).toEqual(['-cpu', 'host']);
    const at = (flag: string) => argv[argv.indexOf(flag) + 1];
    expect(at('-drive')).toBe('file=/store/Leap,,1-Box.qcow2,if=virtio,format=qcow2,snapshot=on');
    expect(at('-nic')).toBe('user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:40123-:22');
    expect(argv).toContain('virtconsole,chardev=con0');
    expect(argv).not.toContain('-serial');
  });

  it('lets the build write the disk only with snapshot: false, and escapes commas in share paths', () => {
    const argv = qemuArgv({
      box: { ...x86, disk: '/s/box.raw' },
      accel: 'tcg',
      cmdline: 'c',
      snapshot: false,
      shares: [{ tag: 'kiwibundle', path: '/a,b', readonly: false }],
      sharing: { kind: '9p' },
      qmpSocket: '/r/q',
    });
    expect(argv).toContain('file=/s/box.raw,if=virtio,format=raw,snapshot=off');
    expect(argv).toContain('local,path=/a,,b,mount_tag=kiwibundle,security_model=none,multidevs=remap');
  });

  it('takes the share arguments of an external backend (the sshfs seam) verbatim', () => {
    const argv = qemuArgv({
      box: x86,
      accel: 'tcg',
      cmdline: 'c',
      shares,
      sharing: {
        kind: 'external',
        args: ['-netdev', 'user,id=n0,restrict=on', '-device', 'virtio-net-pci,netdev=n0'],
      },
      qmpSocket: '/r/q',
    });
    expect(argv.slice(-6, -2)).toEqual([
      '-netdev',
      'user,id=n0,restrict=on',
      '-device',
      'virtio-net-pci,netdev=n0',
    ]);
    expect(argv).not.toContain('-virtfs');
  });

  it('names the emulator by box architecture', () => {
    expect(qemuBinary('x86_64')).toBe('qemu-system-x86_64');
    expect(qemuBinary('aarch64')).toBe('qemu-system-aarch64');
  });
});
