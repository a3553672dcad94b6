/**
 * kiwi maps a disk image's partitions with `partx --add /dev/loopN`. On a kernel without partition
 * table parsers (MSDOS/EFI), parted has already registered the partitions itself through BLKPG, so
 * `partx --add` fails with "error adding partition 1". kiwibox then puts its own shim first on PATH
 * for host kiwi-ng runs only: `partx --add` becomes `partx --update` (add or keep), every other call
 * goes to the real partx. The rule: the shim is used only when a probe shows that this kernel does not
 * create partition devices for a loop device with an MBR. Guests with Debian's kernel have the parsers.
 */
import { mkdir, mkdtemp, open, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { runProcess } from '../../process/run.js';

export const PARTX_SHIM_NAME = 'partx-blkpg-shim';

/** The shim itself; its name on disk is PARTX_SHIM_NAME, `partx` only as a symlink on PATH. */
const SHIM = `#!/bin/sh
# ${PARTX_SHIM_NAME}: written by kiwibox for host kiwi-ng runs on a kernel without partition table
# parsers. parted has already added the partitions through BLKPG, so partx --add would fail:
# --update adds or keeps them. Everything else goes to the real partx.
if [ "\${1:-}" = "--add" ]; then
  shift
  echo "${PARTX_SHIM_NAME}: partx --update $*" >&2
  exec /usr/bin/partx --update "$@"
fi
exec /usr/bin/partx "$@"
`;

const SECTOR = 512;

/** A 2 MiB image with an MBR holding one Linux partition (sectors 2048..4095). */
function mbrImage(): Buffer {
  const image = Buffer.alloc(4096 * SECTOR);
  const entry = 446;
  image[entry + 4] = 0x83;
  image.writeUInt32LE(2048, entry + 8);
  image.writeUInt32LE(2048, entry + 12);
  image[510] = 0x55;
  image[511] = 0xaa;
  return image;
}

/** True when the kernel made `loopNp1` for a loop device with an MBR partition; undefined if unprobed. */
async function kernelParsesPartitions(): Promise<boolean | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'kiwibox-partprobe-'));
  let loop: string | undefined;
  try {
    const file = join(dir, 'mbr.img');
    const handle = await open(file, 'w');
    await handle.write(mbrImage());
    await handle.close();
    const attached = await runProcess({
      argv: ['losetup', '--find', '--show', '--partscan', file],
      cwd: '/',
    });
    if (!attached.ok) return undefined;
    loop = attached.value.stdout.trim();
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
  probed ??= kernelParsesPartitions().then(
    (parses) => parses === false,
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
  await writeFile(join(shims, PARTX_SHIM_NAME), SHIM, { mode: 0o755 });
  await symlink(join('..', PARTX_SHIM_NAME), join(bin, 'partx'));
  return { PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
}
