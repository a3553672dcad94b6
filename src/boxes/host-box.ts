/**
 * The host box (what debos/fakemachine does): the Debian kernel package's kernel, an initramfs
 * generated here (busybox-static + modules + host-init.ts), and the host's /usr and /etc shared
 * read-only, so the host's own kiwi-ng runs inside a VM: a build as non-root, no box download.
 * Kernel and initramfs are cached in `<store>/host/<arch>/<key>/`, keyed on the kernel package
 * version, busybox and the init script; the store lock keeps parallel runs from building it twice.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch as hostArch } from 'node:os';
import { join } from 'node:path';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';
import { runProcess } from '../process/run.js';
import { acquireLock } from '../state/lock-file.js';
import { type CpioEntry, cpioArchive } from './cpio.js';
import { HOST_INIT } from './host-init.js';
import { fetchKernel, type KernelPackage, resolveKernelPackage, type WantedModule } from './host-kernel.js';

/** Where the host box's modules come from; optional ones are loaded when the kernel has them. */
export const HOST_BOX_MODULES: readonly WantedModule[] = [
  ...['virtio_pci', '9pnet_virtio', '9p', 'virtiofs', 'overlay'].map((name) => ({ name, required: true })),
  ...['virtio-rng', 'virtio_net', 'virtio_blk', 'loop', 'ext4', 'vfat', 'squashfs', 'dm_mod'].map((name) => ({
    name,
    required: false,
  })),
  // disk builds: ext4's metadata checksums (crc32c is a soft dependency, not in modinfo's depends=),
  // and the code pages that mounting kiwi's EFI (vfat) partition asks for
  ...['crc32c_generic', 'nls_cp437', 'nls_iso8859_1'].map((name) => ({ name, required: false })),
];

export const HOST_BOX_CMDLINE_X86 = 'quiet panic=-1 cryptomgr.notests=1 mitigations=off';
export const HOST_BOX_CMDLINE_ARM = 'quiet panic=-1 cryptomgr.notests=1';
const BUSYBOX = '/bin/busybox';

export interface HostBoxFiles {
  readonly kernel: string;
  readonly initrd: string;
  /** Box parameters (without console=). */
  readonly cmdline: string;
  readonly shares: readonly { readonly tag: string; readonly path: string }[];
  /** `<package> <version>` of the kernel. */
  readonly kernelPackage: string;
}

/** The Node arch name as a box arch, if it is one. */
export function hostBoxArch(): string {
  return hostArch() === 'arm64' ? 'aarch64' : hostArch() === 'x64' ? 'x86_64' : hostArch();
}

/** True when the ELF file has no program interpreter (runs without a libc in the initramfs). */
function isStaticElf(elf: Buffer): boolean {
  if (elf.subarray(0, 4).toString('latin1') !== '\x7fELF' || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  return true;
}

async function busyboxApplets(signalDir: string): Promise<Result<{ data: Buffer; applets: string[] }>> {
  const data = await readFile(BUSYBOX).catch(() => undefined);
  if (!data || !isStaticElf(data)) {
    return failWith({
      reason: 'host-box-unavailable',
      message: `${BUSYBOX} is missing or not static (install busybox-static)`,
    });
  }
  const list = await runProcess({ argv: [BUSYBOX, '--list'], cwd: signalDir });
  if (!list.ok) return failWith({ reason: 'host-box-unavailable', message: `${BUSYBOX} --list failed` });
  return ok({ data, applets: list.value.stdout.split('\n').filter((a) => /^[a-z0-9_.[-]+$/.test(a)) });
}

function initramfs(
  busybox: Buffer,
  applets: readonly string[],
  modules: { name: string; data: Buffer }[],
): Buffer {
  const entries: CpioEntry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'tmp', 'root', 'lib', 'lib/modules', 'newroot'].map((path) => ({
      kind: 'dir' as const,
      path,
    })),
    { kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 },
    { kind: 'file', path: 'init', data: Buffer.from(HOST_INIT), mode: 0o755 },
    {
      kind: 'file',
      path: 'lib/modules/load-order',
      data: Buffer.from(modules.map((m) => `${m.name}\n`).join('')),
    },
    ...modules.map((m) => ({ kind: 'file' as const, path: `lib/modules/${m.name}.ko`, data: m.data })),
    ...applets
      .filter((a) => a !== 'busybox')
      .map((a) => ({ kind: 'symlink' as const, path: `bin/${a}`, target: 'busybox' })),
  ];
  return cpioArchive(entries);
}

/**
 * What the host box is made of: the kernel package, and a key over it, busybox, the init script and
 * the module list (names the cache directory; a change means a new host box).
 */
export async function hostBoxKey(
  arch: string,
  signal?: AbortSignal,
): Promise<Result<{ pkg: KernelPackage; busybox: { data: Buffer; applets: string[] }; key: string }>> {
  const pkg = await resolveKernelPackage(arch, signal);
  if (!pkg.ok) return pkg;
  const bb = await busyboxApplets('/');
  if (!bb.ok) return bb;
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        pkg: pkg.value,
        busybox: createHash('sha256').update(bb.value.data).digest('hex'),
        init: HOST_INIT,
        m: HOST_BOX_MODULES,
      }),
    )
    .digest('hex')
    .slice(0, 16);
  return ok({ pkg: pkg.value, busybox: bb.value, key });
}

/** Makes sure the host box's kernel and initramfs exist in the store; builds them when missing. */
export async function ensureHostBox(options: {
  readonly store: string;
  readonly arch: string;
  readonly signal?: AbortSignal;
  readonly onLine?: (line: string) => void;
}): Promise<Result<HostBoxFiles>> {
  const { store, arch, signal } = options;
  if (arch !== hostBoxArch()) {
    return failWith({
      reason: 'host-box-arch',
      message: `a host box runs the host's /usr, so its arch must be ${hostBoxArch()}, not ${arch}`,
    });
  }
  const keyed = await hostBoxKey(arch, signal);
  if (!keyed.ok) return keyed;
  const { pkg, busybox: bb, key } = keyed.value;
  const root = join(store, 'host', arch);
  const dir = join(root, key);
  const cmdline = arch === 'aarch64' ? HOST_BOX_CMDLINE_ARM : HOST_BOX_CMDLINE_X86;
  const files = async (): Promise<HostBoxFiles | undefined> => {
    const meta = await readFile(join(dir, 'box.json'), 'utf8').then(
      (t) => JSON.parse(t) as { kernel: string },
      () => undefined,
    );
    if (!meta || !(await stat(join(dir, meta.kernel)).catch(() => undefined))) return undefined;
    return {
      kernel: join(dir, meta.kernel),
      initrd: join(dir, 'initrd.cpio'),
      cmdline,
      shares: [
        { tag: 'hostusr', path: '/usr' },
        { tag: 'hostetc', path: '/etc' },
      ],
      kernelPackage: `${pkg.pkg} ${pkg.version}`,
    };
  };
  const ready = await files();
  if (ready) return ok(ready);
  await mkdir(root, { recursive: true });
  const lock = await acquireLock(`${root}.lock`, {
    ...(signal ? { signal } : {}),
    onWait: (pid) => options.onLine?.(`host box: waiting for process ${pid} (store lock)`),
  });
  if (!lock.ok) return lock;
  const work = await mkdtemp(join(root, '.build-'));
  try {
    const again = await files();
    if (again) return ok(again);
    options.onLine?.(`host box: preparing ${pkg.pkg} ${pkg.version} and an initramfs`);
    const out = join(work, 'out');
    await mkdir(join(work, 'deb'), { recursive: true });
    await mkdir(join(root, 'debs'), { recursive: true });
    await mkdir(out);
    const kernel = await fetchKernel({
      pkg: pkg,
      arch,
      workDir: join(work, 'deb'),
      outDir: out,
      debDir: join(root, 'debs'),
      modules: HOST_BOX_MODULES,
      ...(signal ? { signal } : {}),
    });
    if (!kernel.ok) return kernel;
    await writeFile(join(out, 'initrd.cpio'), initramfs(bb.data, bb.applets, kernel.value.modules));
    const kernelName = kernel.value.kernel.split('/').pop() ?? 'vmlinux';
    await writeFile(
      join(out, 'box.json'),
      JSON.stringify({
        kernel: kernelName,
        package: pkg,
        modules: kernel.value.modules.map((m) => m.name),
      }),
    );
    await rm(dir, { recursive: true, force: true });
    await rename(out, dir);
    const made = await files();
    return made
      ? ok(made)
      : failWith({ reason: 'host-box-unavailable', message: `host box in ${dir} is incomplete` });
  } catch (error) {
    return failWith({ reason: 'host-box-unavailable', message: `host box: ${errorMessage(error)}` });
  } finally {
    await rm(work, { recursive: true, force: true });
    await lock.value.release();
  }
}
