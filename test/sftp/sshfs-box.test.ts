/**
 * A boxed build with `sharing: sshfs`, end to end: real QEMU (TCG), the x86_64 test box with the
 * sshfs layer (real sshfs from Debian in the guest), kiwibox's SFTP server on the host end of the
 * virtio-serial ports. No sshd runs, no TCP port is opened, nothing under ~/.ssh is touched.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoxedBuildExecutor } from '../../src/executors/qemu/boxed-build.js';
import { runVm } from '../../src/executors/qemu/vm.js';
import {
  leftoverProcesses,
  makeDescription,
  type TestBoxFiles,
  testBox,
  testContext,
  tinyBoxedProject,
} from '../box/testbox.js';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function buildSshfsBox(arch: 'x86_64' | 'aarch64' = 'x86_64'): Promise<TestBoxFiles> {
  const { stdout } = await run(join(repo, 'scripts/testbox/sshfs-layer'), ['--arch', arch], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as TestBoxFiles;
}

async function sshDirState(): Promise<string> {
  const dir = join(homedir(), '.ssh');
  if (!existsSync(dir)) return 'absent';
  const names = (await readdir(dir)).sort();
  const stats = await Promise.all(
    names.map(async (name) => `${name}:${(await stat(join(dir, name))).mtimeMs}`),
  );
  return stats.join(',');
}

describe('a boxed build over sshfs', () => {
  let files: TestBoxFiles;
  let work: string;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    files = await buildSshfsBox();
    work = await mkdtemp(join(tmpdir(), 'kbs-'));
    process.env.TMPDIR = work;
  });

  afterAll(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await rm(work, { recursive: true, force: true });
  });

  it('reads the description, writes the bundle, and the description stays read-only', async () => {
    const sshBefore = await sshDirState();
    const { project, build, description, targetDir } = await tinyBoxedProject({
      dir: work,
      files: { 'notes.txt': 'from the host\n' },
      sharing: 'sshfs',
      type: 'oem',
      kiwiArgs: ['--add-package', 'vim'],
      timeout: 600,
    });
    const { ctx, lines } = testContext({
      project,
      box: testBox(files, { extraCmdline: 'testbox_rwprobe=_1_' }),
    });
    const result = await createBoxedBuildExecutor({ project }).run(build, ctx);
    expect(result.ok, `${JSON.stringify(result)}\n${lines.slice(-40).join('\n')}`).toBe(true);
    if (!result.ok) return;
    // The stand-in read config.xml through sshfs and wrote its artefacts back through it.
    expect(result.value.files).toContain(join(targetDir, 'tiny.x86_64-1.2.3-0.tar'));
    expect(await readFile(join(targetDir, 'result.code'), 'utf8')).toBe('0\n');
    expect(await readFile(join(targetDir, 'tiny.x86_64-1.2.3-0.packages'), 'utf8')).toContain('type=oem');
    // The guest's write probe reached kiwibox's server and was refused there.
    expect(lines).toContain('testbox: TESTBOX-DESCRIPTION-READONLY');
    expect(
      lines.some((line) =>
        /sshfs\[kiwidescription\]: refused OPEN \/kiwidescription\/\.testbox-rw-probe/.test(line),
      ),
    ).toBe(true);
    expect(existsSync(join(description, '.testbox-rw-probe'))).toBe(false);
    // Nothing left running, no run dirs left, ~/.ssh untouched.
    expect(await leftoverProcesses(work)).toEqual([]);
    expect((await readdir(work)).filter((name) => name.startsWith('kbvm-'))).toEqual([]);
    expect(await sshDirState()).toBe(sshBefore);
  });

  it('stops everything when the build is cancelled while the shares are mounted', async () => {
    const description = await makeDescription(join(work, 'desc-abort'));
    const bundle = join(work, 'bundle-abort');
    await makeDescription(bundle);
    const abort = new AbortController();
    const lines: string[] = [];
    const result = await runVm({
      box: testBox(files, { extraCmdline: 'testbox_fault=_hang_' }),
      accel: 'tcg',
      kiwiArgs: ['system', 'build'],
      shares: [
        { tag: 'kiwidescription', path: description, readonly: true },
        { tag: 'kiwibundle', path: bundle, readonly: false },
      ],
      sharing: 'sshfs',
      timeoutMs: 600_000,
      signal: abort.signal,
      output: (line) => {
        lines.push(line);
        // The guest hangs after writing result.code through sshfs: the mounts are live.
        if (line === 'testbox: fault: hanging') abort.abort();
      },
      step: 'img',
      tmpRoot: work,
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.reason).toBe('cancelled');
    expect(lines).toContain('testbox: fault: hanging');
    expect(await readFile(join(bundle, 'result.code'), 'utf8')).toBe('1\n');
    expect(await leftoverProcesses(work)).toEqual([]);
    expect((await readdir(work)).filter((name) => name.startsWith('kbvm-'))).toEqual([]);
  });

  it('works the same in the aarch64 box (sshfs and its libraries from arm64 packages)', {
    timeout: 600_000,
  }, async () => {
    const arm = await buildSshfsBox('aarch64');
    const { project, build, targetDir } = await tinyBoxedProject({
      dir: work,
      suffix: '-arm',
      arch: 'aarch64',
      sharing: 'sshfs',
      timeout: 400,
    });
    const { ctx, lines } = testContext({ project, box: testBox(arm) });
    const result = await createBoxedBuildExecutor({ project }).run(build, ctx);
    expect(result.ok, lines.slice(-30).join('\n')).toBe(true);
    expect(await readFile(join(targetDir, 'tiny.aarch64-1.2.3-0.packages'), 'utf8')).toContain(
      'arch=aarch64',
    );
    expect(await leftoverProcesses(work)).toEqual([]);
  });
});
