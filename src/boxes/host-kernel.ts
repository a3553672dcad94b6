/**
 * The Debian kernel for the host box, taken from the linux-image package without installing it:
 * `apt-get download`, `dpkg-deb --fsys-tarfile | tar -x` of the kernel and a few module directories,
 * the uncompressed kernel (x86_64: the vmlinux ELF inside the bzImage, booted through its PVH entry,
 * which skips ~4 s of xz decompression under TCG; arm64: the gunzipped Image), and the modules the box
 * needs in load order (the .deb has no modules.dep, so dependencies are read from each .ko's modinfo).
 */
import { readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { errorMessage, type Failure, failWith, ok, type Result } from '../core/result.js';
import { runProcess } from '../process/run.js';

export interface KernelPackage {
  /** Real image package, e.g. linux-image-6.1.0-56-amd64. */
  readonly pkg: string;
  readonly version: string;
}

/** A module to load at boot; `required` ones must exist (as a .ko or built in). */
export interface WantedModule {
  readonly name: string;
  readonly required: boolean;
}

const debArch = (arch: string) => (arch === 'aarch64' ? 'arm64' : 'amd64');
const norm = (name: string) => name.replaceAll('-', '_');

/** Resolves linux-image-<arch> (a metapackage) to its image package and version through apt-cache. */
export async function resolveKernelPackage(
  arch: string,
  signal?: AbortSignal,
): Promise<Result<KernelPackage>> {
  const opts = { cwd: '/', ...(signal ? { signal } : {}) };
  const deps = await runProcess({ argv: ['apt-cache', 'depends', `linux-image-${debArch(arch)}`], ...opts });
  const pkg = deps.ok ? /^\s*Depends:\s*(linux-image-\d\S*)/m.exec(deps.value.stdout)?.[1] : undefined;
  if (!pkg) {
    // apt's own words say why (no lists, a cache built for other architectures, a held lock).
    const apt = deps.ok ? '' : `: ${deps.error.map((f) => f.message).join('; ')}`;
    return failWith({
      reason: 'host-kernel-unavailable',
      message: `cannot resolve linux-image-${debArch(arch)} with apt-cache (run scripts/setup)${apt}`,
    });
  }
  const show = await runProcess({ argv: ['apt-cache', 'show', '--no-all-versions', pkg], ...opts });
  const version = show.ok ? /^Version:\s*(\S+)/m.exec(show.value.stdout)?.[1] : undefined;
  if (!version)
    return failWith({ reason: 'host-kernel-unavailable', message: `apt-cache knows no version of ${pkg}` });
  return ok({ pkg: pkg.replace(/:.*$/, ''), version });
}

const MODULE_DIRS = [
  'fs',
  'lib',
  'crypto',
  'net',
  'arch',
  'drivers/virtio',
  'drivers/char',
  'drivers/block',
  'drivers/net',
  'drivers/md',
];

async function extractDeb(deb: string, dest: string, signal?: AbortSignal): Promise<Result<void>> {
  const patterns = [
    './boot/vmlinuz-*',
    './lib/modules/*/modules.builtin',
    ...MODULE_DIRS.map((d) => `./lib/modules/*/kernel/${d}/*`),
  ];
  const stderr: string[] = [];
  // Piped, never buffered: the tar stream is hundreds of MB.
  const result = await runProcess({
    argv: ['dpkg-deb', '--fsys-tarfile', deb],
    pipeTo: ['tar', '-x', '-C', dest, '--wildcards', ...patterns],
    cwd: dest,
    ...(signal ? { signal } : {}),
    onLine: (line, stream) => {
      if (stream === 'stderr') stderr.push(line);
    },
  });
  if (!result.ok) {
    const why = [result.error[0]?.message, ...stderr].join(' ').slice(0, 400);
    return failWith({ reason: 'host-kernel-unavailable', message: `cannot unpack ${basename(deb)}: ${why}` });
  }
  return ok(undefined);
}

/** The kernel the box boots: the uncompressed one when it can be had, else the packaged vmlinuz. */
async function bootableKernel(vmlinuz: string, arch: string, outDir: string): Promise<string> {
  const image = await readFile(vmlinuz);
  const packaged = async () => {
    await writeFile(join(outDir, 'vmlinuz'), image);
    return join(outDir, 'vmlinuz');
  };
  if (arch === 'aarch64') {
    if (image[0] !== 0x1f || image[1] !== 0x8b) return packaged();
    await writeFile(join(outDir, 'Image'), gunzipSync(image));
    return join(outDir, 'Image');
  }
  const at = image.indexOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  if (at < 0) return packaged();
  const out = join(outDir, 'vmlinux');
  // xz stops with "corrupt data" at the bzImage's trailing bytes after writing the whole ELF.
  await runProcess({ argv: ['xz', '-dcq'], input: image.subarray(at), stdoutFile: out, cwd: outDir });
  const head = await readFile(out).then(
    (b) => b.subarray(0, 4).toString('latin1'),
    () => '',
  );
  return head === '\x7fELF' ? out : packaged();
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function dependsOf(ko: Buffer): string[] {
  const at = ko.indexOf('depends=');
  if (at < 0) return [];
  const end = ko.indexOf(0, at);
  return ko
    .subarray(at + 8, end)
    .toString('latin1')
    .split(',')
    .filter(Boolean);
}

/** Modules in load order (dependencies first); built-in ones are skipped. */
async function moduleClosure(
  root: string,
  wanted: readonly WantedModule[],
): Promise<Result<{ name: string; data: Buffer }[]>> {
  const [ver] = await readdir(join(root, 'lib/modules'));
  const base = join(root, 'lib/modules', ver ?? '');
  const files = new Map((await walk(join(base, 'kernel'))).map((p) => [norm(basename(p, '.ko')), p]));
  const builtinText = await readFile(join(base, 'modules.builtin'), 'utf8').catch(() => '');
  const builtin = new Set(builtinText.split('\n').map((l) => norm(basename(l.trim(), '.ko'))));
  const order: { name: string; data: Buffer }[] = [];
  const seen = new Set<string>();
  const errors: Failure[] = [];
  const add = async (name: string, required: boolean): Promise<void> => {
    const key = norm(name);
    if (seen.has(key) || builtin.has(key)) return;
    const path = files.get(key);
    if (!path) {
      if (required)
        errors.push({ reason: 'host-kernel-unavailable', message: `kernel module ${name} not found` });
      return;
    }
    seen.add(key);
    const data = await readFile(path);
    for (const dep of dependsOf(data)) await add(dep, true);
    order.push({ name: basename(path, '.ko'), data });
  };
  for (const m of wanted) await add(m.name, m.required);
  return errors.length > 0 ? { ok: false, error: errors } : ok(order);
}

/** Downloads and unpacks the kernel package into `workDir`; the kernel file is written to `outDir`. */
export async function fetchKernel(options: {
  readonly pkg: KernelPackage;
  readonly arch: string;
  readonly workDir: string;
  readonly outDir: string;
  /** Where downloaded packages are kept (same file system as workDir). */
  readonly debDir: string;
  readonly modules: readonly WantedModule[];
  readonly signal?: AbortSignal;
}): Promise<Result<{ kernel: string; modules: { name: string; data: Buffer }[] }>> {
  const { workDir, signal } = options;
  try {
    // The .deb is kept in debDir: a failed or repeated preparation does not download 70 MB again.
    const prefix = `${options.pkg.pkg}_${options.pkg.version.replace(':', '%3a')}_`;
    let deb = (await readdir(options.debDir)).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
    if (!deb) {
      const dl = await runProcess({
        argv: ['apt-get', 'download', '-q', `${options.pkg.pkg}=${options.pkg.version}`],
        cwd: workDir,
        ...(signal ? { signal } : {}),
      });
      if (!dl.ok)
        return failWith({
          reason: 'host-kernel-unavailable',
          message: `apt-get download ${options.pkg.pkg}: ${dl.error[0]?.message}`,
        });
      const got = (await readdir(workDir)).find((f) => f.startsWith(prefix) && f.endsWith('.deb'));
      if (!got)
        return failWith({
          reason: 'host-kernel-unavailable',
          message: `apt-get download left no .deb for ${options.pkg.pkg}`,
        });
      await rename(join(workDir, got), join(options.debDir, got));
      deb = got;
    }
    const unpacked = await extractDeb(join(options.debDir, deb), workDir, signal);
    if (!unpacked.ok) return unpacked;
    const vmlinuz = (await readdir(join(workDir, 'boot'))).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz)
      return failWith({ reason: 'host-kernel-unavailable', message: `${deb} holds no /boot/vmlinuz-*` });
    const kernel = await bootableKernel(join(workDir, 'boot', vmlinuz), options.arch, options.outDir);
    const modules = await moduleClosure(workDir, options.modules);
    if (!modules.ok) return modules;
    return ok({ kernel, modules: modules.value });
  } catch (error) {
    return failWith({ reason: 'host-kernel-unavailable', message: `host kernel: ${errorMessage(error)}` });
  }
}
