/**
 * A box with a disk: the build may write to it in the guest, but with snapshot (the default) the
 * writes go to a per-run overlay that is removed afterwards; `snapshot: false` lets them through.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runVm } from '../../src/executors/qemu/vm.js';
import { buildTestBox, leftoverProcesses, makeDescription, type TestBoxFiles, testBox } from './testbox.js';

let files: TestBoxFiles;
let work: string;
const base = tmpdir();
const MARK = 'kiwibox-wrote-this';

beforeAll(async () => {
  files = await buildTestBox('x86_64');
});

beforeEach(async () => {
  work = await mkdtemp(join(base, 'kbd-'));
});

afterEach(async () => {
  expect(await leftoverProcesses(work)).toEqual([]);
  expect((await readdir(work)).filter((name) => name.startsWith('kbvm-'))).toEqual([]);
  await rm(work, { recursive: true, force: true });
});

async function writeDisk(snapshot: boolean) {
  const disk = join(work, 'box.raw');
  await writeFile(disk, Buffer.alloc(4 * 1024 * 1024));
  // Run in the guest by the kiwi-ng stand-in: write the mark to the disk and read it back.
  const description = await makeDescription(join(work, 'desc'), {
    'testbox-run': `printf ${MARK} | dd of=/dev/vda conv=notrunc 2>/dev/null && sync\necho "DISK-READBACK $(head -c ${MARK.length} /dev/vda)"\n`,
  });
  const bundle = join(work, 'bundle');
  await makeDescription(bundle);
  const lines: string[] = [];
  const result = await runVm({
    box: { ...testBox(files), disk },
    accel: 'tcg',
    kiwiArgs: ['system', 'build'],
    shares: [
      { tag: 'kiwidescription', path: description, readonly: true },
      { tag: 'kiwibundle', path: bundle, readonly: false },
    ],
    sharing: '9p',
    snapshot,
    timeoutMs: 180_000,
    signal: new AbortController().signal,
    output: (line) => lines.push(line),
    tmpRoot: work,
  });
  expect(result.ok, lines.slice(-15).join('\n')).toBe(true);
  // The guest saw its own write either way.
  expect(lines).toContain(`DISK-READBACK ${MARK}`);
  return (await readFile(disk)).subarray(0, MARK.length).toString('latin1');
}

describe('a box disk', () => {
  it('is never written with snapshot on: the overlay takes the writes and goes away', async () => {
    expect(await writeDisk(true)).toBe('\0'.repeat(MARK.length));
  });

  it('is written with snapshot: false (--no-snapshot)', async () => {
    expect(await writeDisk(false)).toBe(MARK);
  });
});
