/**
 * A small bootable Debian bookworm `oem` disk (BIOS, grub2 and the kernel on ttyS0), built once per
 * test process by the real CLI with the host's kiwi-ng (about 2–4 min) from test/fixtures/oem-disk.
 * On boot a unit prints KIWIBOX-BOOT-OK on ttyS0 and powers the guest off.
 *
 * Use: `const disk = await oemDiskProject()`, then write `${disk.yaml}boot-tests: …` to a file of
 * your own in `disk.dir` and run `kiwibox -C disk.dir -f that.yaml`: the build step `disk` is fresh.
 * Never write into `disk.dir/out`. Set KIWIBOX_TEST_OEM_DISK=DIR to keep the project in DIR across
 * runs (local development); otherwise `disposeOemDisk()` removes it (call it in afterAll).
 */
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { BIN, ROOT } from './project.js';
import { debianMirror, missingRealTools } from './real-tools.js';

export interface OemDiskProject {
  /** The project dir: kiwibox.yaml, description/, out/disk, .kiwibox/ state. */
  readonly dir: string;
  /** The build step's id. */
  readonly step: 'disk';
  /** kiwibox.yaml as written (ends with a newline): append your own sections. */
  readonly yaml: string;
  /** The disk file (`.raw`), as kiwi.result.json names it. */
  readonly image: string;
  readonly resultJson: string;
  readonly firmware: 'bios';
  /** What the guest prints on ttyS0 once booted. */
  readonly marker: 'KIWIBOX-BOOT-OK';
}

export const OEM_DISK_YAML = `version: 1
builds:
  disk:
    description: description
    target-dir: out/disk
    kiwi-args: [--set-repo, "\${DEBIAN_MIRROR},apt-deb"]
`;

/** The environment the project needs: DEBIAN_MIRROR from apt's sources. */
export function oemDiskEnv(): Record<string, string> {
  return { DEBIAN_MIRROR: process.env.DEBIAN_MIRROR ?? debianMirror(ROOT) };
}

/**
 * Why the disk cannot be built here (missing tools, not root), or undefined. Outside CI a test skips
 * with this reason; in CI it throws (real-tool tests must not skip there).
 */
export function oemDiskSkip(): string | undefined {
  return missingRealTools({ tools: ['kiwi-ng', 'debootstrap', 'sfdisk', 'qemu-system-x86_64'], root: true });
}

let built: Promise<OemDiskProject> | undefined;
let ownedDir: string | undefined;

/**
 * The disk file kiwi.result.json names (disk_format_image first, then disk_image), in the dir of
 * kiwi.result.json: kiwi wrote the names of the staging dir it built in, which kiwibox then renamed.
 */
export async function diskFromResult(resultJson: string): Promise<string> {
  const parsed = JSON.parse(await readFile(resultJson, 'utf8')) as Record<string, { filename?: string }>;
  const file = parsed.disk_format_image?.filename ?? parsed.disk_image?.filename;
  if (!file) throw new Error(`${resultJson} names no disk image`);
  return join(dirname(resultJson), basename(file));
}

async function build(): Promise<OemDiskProject> {
  const keep = process.env.KIWIBOX_TEST_OEM_DISK;
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'kiwibox-oem-disk-')));
  if (!keep) ownedDir = dir;
  await mkdir(dir, { recursive: true });
  await rm(join(dir, 'description'), { recursive: true, force: true });
  await cp(join(ROOT, 'test/fixtures/oem-disk'), join(dir, 'description'), { recursive: true });
  await writeFile(join(dir, 'kiwibox.yaml'), OEM_DISK_YAML);
  const run = await execa(process.execPath, [BIN, '--reporter', 'plain', 'run'], {
    cwd: dir,
    reject: false,
    env: { NO_COLOR: '1', ...oemDiskEnv() },
    stdin: 'ignore',
  });
  if (run.exitCode !== 0) {
    const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-40).join('\n');
    throw new Error(`building the oem test disk failed (exit ${run.exitCode}):\n${tail}`);
  }
  const resultJson = join(dir, 'out/disk/kiwi.result.json');
  const image = await diskFromResult(resultJson);
  await stat(image);
  return {
    dir,
    step: 'disk',
    yaml: OEM_DISK_YAML,
    image,
    resultJson,
    firmware: 'bios',
    marker: 'KIWIBOX-BOOT-OK',
  };
}

/** The disk project, built on the first call in this test process. */
export function oemDiskProject(): Promise<OemDiskProject> {
  built ??= build();
  return built;
}

/** Removes the project this process built (not a KIWIBOX_TEST_OEM_DISK one). */
export async function disposeOemDisk(): Promise<void> {
  if (ownedDir) await rm(ownedDir, { recursive: true, force: true });
  ownedDir = undefined;
  built = undefined;
}
