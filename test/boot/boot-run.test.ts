/**
 * Boot tests on a real kiwi-built oem disk (test/support/oem-disk.ts) with real QEMU (TCG here): a
 * pass that leaves the image byte-for-byte unchanged and is fresh the second time, a marker that never
 * comes (fails at the timeout), a guest that powers off before the last expectation, a real kernel
 * panic (too little memory) that fails at once, and Ctrl-C mid-boot leaving no QEMU, overlay or temp
 * dir. Each boot takes about a minute under TCG on a loaded machine.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  disposeOemDisk,
  type OemDiskProject,
  oemDiskEnv,
  oemDiskProject,
  oemDiskSkip,
} from '../support/oem-disk.js';
import { BIN, events } from '../support/project.js';

const skip = oemDiskSkip();
let disk: OemDiskProject;
let digestBefore: string;
/** The disk file kiwi.result.json names. */
let image: string;
let scratch: string;

const PASS = '  boots: {image: disk, expect: [KIWIBOX-BOOT-OK], accel: tcg, timeout: 10m}\n';

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Runs kiwibox in the disk project with `name.yaml` = the disk's yaml + `bootTests`. */
async function kiwibox(name: string, bootTests: string, args: string[] = ['run'], tmp = scratch) {
  await writeFile(join(disk.dir, `${name}.yaml`), `${disk.yaml}boot-tests:\n${bootTests}`);
  return execa(process.execPath, [BIN, '-f', `${name}.yaml`, '--reporter', 'ndjson', ...args], {
    cwd: disk.dir,
    reject: false,
    stdin: 'ignore',
    env: { NO_COLOR: '1', CI: 'true', TMPDIR: tmp, ...oemDiskEnv() },
  });
}

function failures(stdout: string) {
  return events(stdout)
    .filter((e) => e.type === 'step-failed')
    .flatMap((e) => e.failures as { reason: string; message: string }[]);
}

/** QEMU processes whose command line mentions `dir` (every boot of these tests runs under one). */
async function qemuUnder(dir: string): Promise<string[]> {
  const ps = await execa('ps', ['-eo', 'pid,args'], { reject: false });
  return ps.stdout.split('\n').filter((line) => line.includes('qemu-system') && line.includes(dir));
}

describe.skipIf(skip)('boot tests on a real oem disk', () => {
  beforeAll(async () => {
    disk = await oemDiskProject();
    image = disk.image;
    digestBefore = await sha256(image);
    scratch = await mkdtemp(join(tmpdir(), 'kb-boot-run-'));
  }, 30 * 60_000);

  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
    await disposeOemDisk();
  });

  it(
    'passes when the marker shows, leaves the image unchanged, and is fresh the second time',
    async () => {
      // A kept disk project (KIWIBOX_TEST_OEM_DISK) may hold a record of an earlier pass.
      const clean = await kiwibox('boot-pass', PASS, ['clean', 'boots']);
      expect(clean.exitCode, clean.stderr).toBe(0);
      const run = await kiwibox(
        'boot-pass',
        `  boots: {image: disk, expect: [${disk.marker}], accel: tcg, timeout: 10m}\n`,
      );
      expect(run.exitCode, run.stdout + run.stderr).toBe(0);
      const all = events(run.stdout);
      expect(all.filter((e) => e.type === 'step-succeeded').map((e) => e.step)).toEqual(['boots']);
      expect(all).toContainEqual(
        expect.objectContaining({
          type: 'step-progress',
          step: 'boots',
          phase: 'boot',
          detail: 'waiting for expect 1/1',
        }),
      );
      const log = await readFile(join(disk.dir, '.kiwibox/logs/boots.log'), 'utf8');
      expect(log).toContain(disk.marker);
      expect(log).toMatch(/Linux version/);
      expect(await qemuUnder(scratch)).toEqual([]);
      expect(await readdir(scratch)).toEqual([]);
      expect(await sha256(image)).toBe(digestBefore);

      const again = await kiwibox(
        'boot-pass',
        `  boots: {image: disk, expect: [${disk.marker}], accel: tcg, timeout: 10m}\n`,
      );
      expect(again.exitCode).toBe(0);
      expect(
        events(again.stdout)
          .filter((e) => e.type === 'step-fresh')
          .map((e) => e.step),
      ).toEqual(['disk', 'boots']);
      const why = await kiwibox(
        'boot-pass',
        `  boots: {image: disk, expect: [${disk.marker}], accel: tcg, timeout: 10m}\n`,
        ['why', 'boots'],
      );
      expect(why.exitCode).toBe(0);
      expect(why.stdout).toMatch(/boots is fresh/);
      // Its own config is part of the fingerprint: more memory means another boot, and why says so.
      const changed = await kiwibox(
        'boot-pass',
        `  boots: {image: disk, expect: [${disk.marker}], accel: tcg, timeout: 10m, memory: 2G}\n`,
        ['why', 'boots'],
      );
      expect(changed.stdout).toMatch(/boots would run:/);
      expect(changed.stdout).toMatch(/memory/);
    },
    15 * 60_000,
  );

  it(
    'fails at the timeout when the marker never shows, never as a success',
    async () => {
      const started = Date.now();
      const run = await kiwibox(
        'boot-timeout',
        '  waits: {image: disk, expect: [NEVER-PRINTED-MARKER], accel: tcg, timeout: 25s}\n',
      );
      const seconds = (Date.now() - started) / 1000;
      expect(run.exitCode).toBe(1);
      const [failure] = failures(run.stdout);
      expect(failure?.reason).toBe('boot-timeout');
      expect(failure?.message).toMatch(
        /^timed out after 25 s waiting for expect 1\/1 \("NEVER-PRINTED-MARKER"\)/,
      );
      expect(seconds).toBeGreaterThanOrEqual(25);
      expect(seconds).toBeLessThan(90);
      expect(await qemuUnder(scratch)).toEqual([]);
      expect(await readdir(scratch)).toEqual([]);
    },
    5 * 60_000,
  );

  it(
    'fails when the guest powers off before the last expectation (accel auto: KVM only if it works)',
    async () => {
      const run = await kiwibox(
        'boot-ended',
        `  ends: {image: disk, expect: [${disk.marker}, NEVER-PRINTED-MARKER], timeout: 10m}\n`,
      );
      const log = await readFile(join(disk.dir, '.kiwibox/logs/ends.log'), 'utf8');
      // Without /dev/kvm: TCG at once. With one that cannot run a guest (a PVM host): the probe boot
      // with the image's own kernel says so and TCG is used; with a working one: KVM.
      expect(log).toMatch(
        existsSync('/dev/kvm')
          ? /KVM is not usable \(.*\); running the box under TCG|^boot: .* \(raw, bios, kvm,/m
          : /^boot: .* \(raw, bios, tcg, 1G, 1 vCPU\)$/m,
      );
      expect(run.exitCode).toBe(1);
      const [failure] = failures(run.stdout);
      expect(failure?.reason).toBe('boot-ended');
      expect(failure?.message).toMatch(/before expect 2\/2 \("NEVER-PRINTED-MARKER"\) was seen/);
      // The first expectation was seen (the failure's console tail shows the shutdown after it).
      expect(log).toContain(`boot: saw expect 1/2 ("${disk.marker}")`);
      expect(await qemuUnder(scratch)).toEqual([]);
    },
    15 * 60_000,
  );

  it(
    'fails at once on a real kernel panic (too little memory), with the panic line',
    async () => {
      const started = Date.now();
      const run = await kiwibox(
        'boot-panic',
        `  panics: {image: disk, expect: [${disk.marker}], memory: 128M, accel: tcg, timeout: 10m}\n`,
      );
      expect(run.exitCode).toBe(1);
      const [failure] = failures(run.stdout);
      expect(failure?.reason).toBe('boot-failed');
      expect(failure?.message).toMatch(
        /^the console showed 'Kernel panic - not syncing' after [\d.]+ s: .*Kernel panic - not syncing: /,
      );
      expect((Date.now() - started) / 1000).toBeLessThan(300);
      expect(await qemuUnder(scratch)).toEqual([]);
    },
    10 * 60_000,
  );

  it(
    'leaves no QEMU, overlay or temp dir when cancelled mid-boot',
    async () => {
      const tmp = await mkdtemp(join(tmpdir(), 'kb-boot-cancel-'));
      await writeFile(
        join(disk.dir, 'boot-cancel.yaml'),
        `${disk.yaml}boot-tests:\n  cancelled: {image: disk, expect: [${disk.marker}], accel: tcg, timeout: 10m}\n`,
      );
      const child = execa(process.execPath, [BIN, '-f', 'boot-cancel.yaml', '--reporter', 'ndjson', 'run'], {
        cwd: disk.dir,
        reject: false,
        stdin: 'ignore',
        env: { NO_COLOR: '1', CI: 'true', TMPDIR: tmp, ...oemDiskEnv() },
      });
      let consoleLines = 0;
      await new Promise<void>((resolve) => {
        let pending = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          // Count whole NDJSON lines only: a chunk may end mid-line.
          pending += chunk.toString();
          const cut = pending.lastIndexOf('\n') + 1;
          consoleLines += events(pending.slice(0, cut)).filter((e) => e.type === 'step-output').length;
          pending = pending.slice(cut);
          // Mid-boot: QEMU is up and the guest has printed for a while.
          if (consoleLines > 30) resolve();
        });
        void child.then(() => resolve());
      });
      expect((await qemuUnder(tmp)).length).toBe(1);
      const overlays = (await readdir(tmp, { recursive: true })).filter((f) =>
        String(f).endsWith('overlay.qcow2'),
      );
      expect(overlays.length).toBe(1);
      child.kill('SIGINT');
      const run = await child;
      expect(run.exitCode).toBe(130);
      expect(await qemuUnder(tmp)).toEqual([]);
      expect(await readdir(tmp)).toEqual([]);
      await rm(tmp, { recursive: true, force: true });
      expect(await sha256(image)).toBe(digestBefore);
    },
    10 * 60_000,
  );
});
