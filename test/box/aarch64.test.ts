/**
 * Cross-arch: a boxed build in the aarch64 test box (Debian's arm64 kernel and busybox-static:arm64)
 * under qemu-system-aarch64 -machine virt with TCG.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoxedBuildExecutor } from '../../src/executors/qemu/boxed-build.js';
import { buildTestBox, leftoverProcesses, testBox, testContext, tinyBoxedProject } from './testbox.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'kba-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('an aarch64 box', () => {
  it('boots under qemu-system-aarch64 and builds there', { timeout: 300_000 }, async () => {
    const files = await buildTestBox('aarch64');
    const { project, build, targetDir } = await tinyBoxedProject({
      dir: work,
      arch: 'aarch64',
      timeout: 240,
    });
    const { ctx, lines } = testContext({ project, box: testBox(files) });
    const executor = createBoxedBuildExecutor({ project });
    expect(executor.tools(build, project)).toEqual(['qemu-system-aarch64']);
    const result = await executor.run(build, ctx);
    expect(result.ok, lines.slice(-20).join('\n')).toBe(true);
    expect(lines[0]).toMatch(/^\$ qemu-system-aarch64 -machine virt -accel tcg -cpu max,pauth-impdef=on /);
    // The stand-in names the artifact after `uname -m` in the guest: it really ran on aarch64.
    const packages = await readFile(join(targetDir, 'tiny.aarch64-1.2.3-0.packages'), 'utf8');
    expect(packages).toContain('arch=aarch64');
    expect(await leftoverProcesses(work)).toEqual([]);
  });
});
