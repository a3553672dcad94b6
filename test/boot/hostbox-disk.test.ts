/**
 * A bootable oem disk built inside the host box without root, then booted by a boot test. Under TCG
 * a full Debian disk build in a guest takes far too long for CI, so the disk is the smallest that
 * still makes the guest do what a disk build does: the root comes from an archive (busybox, the
 * Debian kernel, a tiny initramfs; test/fixtures/hostbox-disk/make-root.sh), kiwi-ng in the guest
 * creates the raw disk, partitions it on a loop device, makes the ext4 root, copies the root in, and
 * the description's edit_boot_install.sh runs grub-install on the loop device. The boot test then
 * sees the marker the initramfs reads from the disk's root partition.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureHostBox, hostBoxArch } from '../../src/boxes/host-box.js';
import { BIN, events, ROOT, stepsWith, TempProject } from '../support/project.js';
import { missingRealTools, testBoxStore } from '../support/real-tools.js';

const skip = missingRealTools({
  tools: ['qemu-system-x86_64', 'kiwi-ng', 'busybox', 'cpio', 'dpkg-deb', 'grub-install', 'sfdisk'],
  root: true,
});
const NOBODY = 65534;
const store = testBoxStore();

const YAML = `version: 1
boxes:
  host: { host: true, memory: 1G, cpus: 1, network: false }
tasks:
  root:
    run: [./description/make-root.sh, inputs/kernel.deb, inputs/box-initrd.cpio, description/root.tar]
    inputs: [description/make-root.sh, inputs/*]
    outputs: [description/root.tar]
builds:
  disk:
    needs: [root]
    box: host
    description: description
    target-dir: out/disk
    timeout: 1800
    kiwi-args: [--config, /description/kiwi-bundle.yml]
boot-tests:
  boots:
    image: disk
    expect: ["KIWIBOX-BOOT-OK from the root partition"]
    timeout: 15m
`;

/** The project, owned by nobody, with the host box's kernel package and initramfs as task inputs. */
async function prepare(p: TempProject): Promise<{ env: Record<string, string>; user: number }> {
  const arch = hostBoxArch();
  const box = await ensureHostBox({ store, arch });
  if (!box.ok) throw new Error(box.error.map((f) => f.message).join('\n'));
  execFileSync('cp', ['-a', '--', `${join(ROOT, 'test/fixtures/hostbox-disk')}/.`, p.path('description')]);
  p.write({ 'kiwibox.yaml': YAML });
  const debs = join(store, 'host', arch, 'debs');
  const deb = readdirSync(debs).find((name) => name.startsWith('linux-image-') && name.endsWith('.deb'));
  if (!deb) throw new Error(`no kernel package in ${debs}`);
  mkdirSync(p.path('inputs'));
  copyFileSync(join(debs, deb), p.path('inputs/kernel.deb'));
  copyFileSync(box.value.initrd, p.path('inputs/box-initrd.cpio'));
  const own = join(p.path('.nobody-store'), 'host', arch);
  mkdirSync(own, { recursive: true });
  execFileSync('cp', ['-a', '--', dirname(box.value.kernel), own]);
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, p.dir]);
  for (const path of [p.dir, BIN, process.execPath]) {
    const probe = execaSync('test', ['-r', path], { reject: false, uid: NOBODY, gid: NOBODY });
    if (probe.exitCode !== 0) throw new Error(`${path} is not readable by uid ${NOBODY}: move the checkout`);
  }
  return {
    env: { KIWIBOX_BOX_STORE: p.path('.nobody-store'), HOME: p.dir, XDG_CACHE_HOME: p.path('.cache') },
    user: NOBODY,
  };
}

describe.skipIf(skip !== undefined || hostBoxArch() !== 'x86_64')('an oem disk built in the host box', () => {
  const p = new TempProject('kiwibox-hostbox-disk-');
  afterAll(() => p.remove());

  it('partitions, formats and installs grub in the guest as nobody; the disk boots to its marker', async () => {
    const { env, user } = await prepare(p);
    const started = Date.now();
    const run = await p.kiwibox(['--reporter', 'ndjson', 'run'], env, user);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const log = p.path('out/disk/result.log');
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-40).join('\n') : '';
    expect(run.exitCode, `${run.stdout.slice(-4000)}\n--- result.log tail\n${tail}`).toBe(0);
    process.stdout.write(`host box: tiny oem disk build + boot test took ${seconds} s (TCG)\n`);
    expect(stepsWith(run.stdout, 'step-succeeded').sort()).toEqual(['boots', 'disk', 'host', 'root']);

    // kiwi's result bundle names it with the build id (-0), uncompressed (kiwi-bundle.yml).
    const disk = 'out/disk/kiwibox-box-disk.x86_64-1.0.0-0.raw';
    expect(statSync(p.path(disk)).uid).toBe(user);
    const record = JSON.parse(readFileSync(p.path('.kiwibox/steps/disk/record.json'), 'utf8'));
    expect(record.outputs.files.map((f: { path: string }) => f.path)).toContain(disk);
    // What the guest did: a loop device partitioned by kiwi, ext4 made, the bootloader script run.
    const kiwiLog = readFileSync(log, 'utf8');
    expect(kiwiLog).toMatch(/Creating root\(ext4\) filesystem on \/dev\/loop\d+p1/);
    // kiwi logs that it ran the script, not what the script printed (that needs --debug).
    expect(kiwiLog).toMatch(/Calling edit_boot_install\.sh script/);
    // The MBR carries grub's boot code (GRUB signature in the first sector).
    expect(readFileSync(p.path(disk)).subarray(0, 512).includes(Buffer.from('GRUB'))).toBe(true);
    const phases = events(run.stdout).filter((e) => e.type === 'step-progress' && e.step === 'disk');
    expect(phases.map((e) => e.phase)).toEqual(expect.arrayContaining(['disk']));

    const again = await p.kiwibox(['--reporter', 'ndjson', 'run'], env, user);
    expect(stepsWith(again.stdout, 'step-started')).toEqual([]);
    expect(stepsWith(again.stdout, 'step-fresh').sort()).toEqual(['boots', 'disk', 'host', 'root']);
  }, 3_000_000);
});
