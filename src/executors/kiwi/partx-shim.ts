/**
 * kiwi maps a disk image's partitions with `partx --add /dev/loopN` right after parted wrote the
 * table. On this kind of machine the partition is registered by then (parted adds it through BLKPG
 * where the kernel has no MSDOS/EFI parsers; the kernel's own rescan does it in the host box's Debian
 * guest), so `partx --add` fails with "error adding partition 1". kiwibox then puts its own shim
 * first on PATH for kiwi-ng runs: `partx --add` becomes `partx --update` (add or keep), every other
 * call goes to the real partx. The rule: the shim is used only when a probe that repeats kiwi's steps
 * (losetup without partscan, parted mklabel/mkpart) finds the partition device already there. The
 * host box runs the same probe in its guest (host-init.ts, PARTX_PROBE in kiwi/partx-shim.ts).
 */
import { mkdir, mkdtemp, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PARTX_SHIM, PARTX_SHIM_NAME } from '../../kiwi/partx-shim.js';
import { runProcess } from '../../process/run.js';

/** True when the partition exists right after parted wrote the table, as kiwi would see it. */
async function partitionRegisteredByParted(): Promise<boolean | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'kiwibox-partprobe-'));
  let loop: string | undefined;
  try {
    const file = join(dir, 'probe.img');
    await writeFile(file, Buffer.alloc(0));
    await truncate(file, 4 * 1024 * 1024);
    const attached = await runProcess({ argv: ['losetup', '--find', '--show', file], cwd: '/' });
    if (!attached.ok) return undefined;
    loop = attached.value.stdout.trim();
    const parted = ['parted', '-s', loop, 'mklabel', 'msdos', 'mkpart', 'primary', '2048s', '100%'];
    if (!(await runProcess({ argv: parted as [string, ...string[]], cwd: '/' })).ok) return undefined;
    const name = basename(loop);
    const entries = await readdir(join('/sys/block', name)).catch(() => [] as string[]);
    return entries.includes(`${name}p1`);
  } finally {
    if (loop) await runProcess({ argv: ['losetup', '--detach', loop], cwd: '/' });
    await rm(dir, { recursive: true, force: true });
  }
}

let probed: Promise<boolean> | undefined;

/** Whether host kiwi-ng runs need the shim on this machine (probed once per process, as root). */
export function hostNeedsPartxShim(): Promise<boolean> {
  if (process.getuid?.() !== 0) return Promise.resolve(false);
  probed ??= partitionRegisteredByParted().then(
    (registered) => registered === true,
    () => false,
  );
  return probed;
}

/**
 * Environment for a host kiwi-ng run: PATH with the shim first when this kernel needs it (written into
 * `dir`, which the caller removes), else nothing.
 */
export async function partxShimEnv(dir: string): Promise<Record<string, string>> {
  if (!(await hostNeedsPartxShim())) return {};
  const shims = join(dir, 'kiwibox-shims');
  const bin = join(shims, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(shims, PARTX_SHIM_NAME), PARTX_SHIM, { mode: 0o755 });
  await symlink(join('..', PARTX_SHIM_NAME), join(bin, 'partx'));
  return { PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
}
