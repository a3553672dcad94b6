/**
 * Boxed builds end to end with real QEMU (TCG) and the x86_64 test box: 9p and virtiofs, the
 * description read-only for real, failures from result.code, and two builds at once.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBoxedBuildExecutor } from '../../src/executors/qemu/boxed-build.js';
import {
  boxedProject,
  buildTestBox,
  leftoverProcesses,
  makeDescription,
  type TestBoxFiles,
  testBox,
  testContext,
} from './testbox.js';

let files: TestBoxFiles;
let work: string;
const savedTmp = process.env.TMPDIR;
const base = tmpdir();

beforeAll(async () => {
  files = await buildTestBox('x86_64');
});

beforeEach(async () => {
  work = await mkdtemp(join(base, 'kbt-'));
  // Per-run dirs (sockets, snapshot overlays) land under the test's dir, so the leftover check sees them.
  process.env.TMPDIR = work;
});

afterEach(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  expect(await leftoverProcesses(work)).toEqual([]);
  // The VM runner removes its run dirs (kbvm-*) on every path.
  expect((await readdir(work)).filter((name) => name.startsWith('kbvm-'))).toEqual([]);
  await rm(work, { recursive: true, force: true });
});

async function build(options: {
  sharing?: '9p' | 'virtiofs';
  extraCmdline?: string;
  descriptionFiles?: Record<string, string>;
  kiwiArgs?: string[];
  id?: string;
  timeout?: number;
}) {
  const id = options.id ?? 'image';
  const description = await makeDescription(join(work, `desc-${id}`), options.descriptionFiles);
  const targetDir = join(work, `out-${id}`);
  const { project, build: step } = boxedProject({
    dir: work,
    description,
    targetDir,
    sharing: options.sharing,
    type: 'oem',
    profiles: ['small', 'fast'],
    kiwiArgs: options.kiwiArgs ?? ['--add-package', 'vim'],
    id,
    timeout: options.timeout,
  });
  const { ctx, lines } = testContext({
    project,
    box: testBox(files, { extraCmdline: options.extraCmdline }),
  });
  const executor = createBoxedBuildExecutor({ project });
  const result = await executor.run(step, ctx);
  return { result, lines, targetDir, description, executor, step, project };
}

describe.each(['9p', 'virtiofs'] as const)('a boxed build over %s', (sharing) => {
  it('builds, bundles into the target dir and keeps the description read-only', async () => {
    const { result, lines, targetDir, description, executor, step, project } = await build({
      sharing,
      extraCmdline: 'testbox_rwprobe=_1_',
    });
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.value.files).toEqual([
      join(targetDir, 'kiwi.result.json'),
      join(targetDir, 'tiny.x86_64-1.2.3-0.packages'),
      join(targetDir, 'tiny.x86_64-1.2.3-0.tar'),
    ]);
    // The stand-in saw the build's type, profiles and options through kiwi="…".
    const packages = await readFile(join(targetDir, 'tiny.x86_64-1.2.3-0.packages'), 'utf8');
    expect(packages).toContain('type=oem');
    expect(packages).toContain('profiles=small fast');
    expect(await readFile(join(targetDir, 'result.code'), 'utf8')).toBe('0\n');
    expect(lines).toContain('[ standin ] option --add-package vim');
    // A write from the guest into the description failed, and nothing reached the host.
    expect(lines).toContain('testbox: TESTBOX-DESCRIPTION-READONLY');
    expect(lines).not.toContain('testbox: TESTBOX-DESCRIPTION-WRITABLE');
    expect(existsSync(join(description, '.testbox-rw-probe'))).toBe(false);
    expect(executor.weight?.(step, project)).toBe(1);
    expect(executor.tools(step, project)).toEqual(['qemu-system-x86_64']);
  });
});

describe('boxed build failures', () => {
  it('never reads a stale result.code: a box that writes none fails and the old target stays', async () => {
    const targetDir = join(work, 'out-image');
    await mkdir(targetDir, { recursive: true });
    await writeFile(join(targetDir, 'result.code'), '0\n');
    await writeFile(join(targetDir, 'old-image.tar'), 'old');
    const { result, lines } = await build({ extraCmdline: 'testbox_fault=_no-result_' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error[0]?.reason).toBe('result-missing');
    expect(lines).toContain('testbox: fault: powering off without result.code');
    expect(await readFile(join(targetDir, 'old-image.tar'), 'utf8')).toBe('old');
  });

  it('counts a guest kernel panic (QEMU exits 0) as a failure, not a success', async () => {
    const { result, lines } = await build({ extraCmdline: 'testbox_fault=_panic_' });
    expect(lines).toContain('testbox: fault: panic');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.reason).toBe('result-missing');
  });

  it('fails with the result.log tail when kiwi-ng in the box fails', async () => {
    const { result, targetDir } = await build({ descriptionFiles: { 'testbox-exit-code': '3' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error[0]?.reason).toBe('box-build-failed');
    expect(result.error[0]?.message).toContain('code 3');
    expect(result.error[0]?.message).toContain('failing on purpose');
    expect(existsSync(targetDir)).toBe(false);
  });

  it('rejects arguments the kernel command line cannot carry before booting anything', async () => {
    const { result, lines } = await build({ kiwiArgs: ['--add-package', 'a"b'] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error[0]?.reason).toBe('kernel-cmdline');
    expect(lines.some((line) => line.startsWith('$ qemu-system'))).toBe(false);
  });

  it('fails when the box named by the build has no resolved box in its outputs', async () => {
    const description = await makeDescription(join(work, 'desc'));
    const { project, build: step } = boxedProject({ dir: work, description, targetDir: join(work, 'out') });
    const { ctx } = testContext({ project, box: testBox(files) });
    const result = await createBoxedBuildExecutor({ project }).run(step, { ...ctx, upstream: new Map() });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.reason).toBe('box-missing');
  });
});

describe('two boxed builds at once', () => {
  it('run side by side on one box (virtiofs: per-run sockets) without clashing', async () => {
    const [a, b] = await Promise.all([
      build({ sharing: 'virtiofs', id: 'one' }),
      build({ sharing: 'virtiofs', id: 'two', descriptionFiles: { 'extra.txt': 'two' } }),
    ]);
    expect(a.result.ok, JSON.stringify(a.result)).toBe(true);
    expect(b.result.ok, JSON.stringify(b.result)).toBe(true);
    // Each tarball holds its own description.
    const tarA = await readFile(join(a.targetDir, 'tiny.x86_64-1.2.3-0.tar'));
    const tarB = await readFile(join(b.targetDir, 'tiny.x86_64-1.2.3-0.tar'));
    expect(tarA.includes('extra.txt')).toBe(false);
    expect(tarB.includes('extra.txt')).toBe(true);
  });
});
