import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { boxFromData } from '../../src/boxes/box.js';
import type { ExecutorContext } from '../../src/core/executor.js';
import type { BoxStep, Project } from '../../src/core/model.js';
import { boxStepExecutor } from '../../src/executors/box-step.js';
import { TempProject } from '../support/project.js';
import { DISK, PACKAGES, publish, publishBox, REPO, TARBALL } from './fixture-box.js';
import { type FixtureServer, startFixtureServer } from './fixture-server.js';

let server: FixtureServer;
let dir: string;
let project: Project;
const REGISTRY = `box:
  - name: testbox
    mem_mb: 768M
    processors: 2
    console: hvc0
    arch:
      - name: x86_64
        cmdline: [root=/dev/vda1, rd.plymouth=0]
        source: obs://Test:Boxes/repo
        packages_file: ${PACKAGES}
        boxfiles: [${TARBALL}, ${DISK}]
        use_initrd: true
`;

beforeAll(async () => {
  server = await startFixtureServer();
  dir = mkdtempSync(join(tmpdir(), 'kiwibox-boxstep-'));
  process.env.KIWIBOX_BOX_STORE = join(dir, 'store');
  writeFileSync(join(dir, 'boxes.yml'), REGISTRY);
  project = {
    file: join(dir, 'kiwibox.yaml'),
    dir,
    stateDir: join(dir, '.kiwibox'),
    podman: { registries: {} },
    steps: new Map(),
  };
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => server.hits.clear());

function step(fields: Partial<BoxStep>): BoxStep {
  return {
    kind: 'box',
    id: 'b',
    deps: [],
    location: { file: project.file, offset: 0, length: 1 },
    fields: {},
    source: 'official',
    name: 'testbox',
    memory: '1G',
    cpus: 1,
    arch: 'x86_64',
    accel: 'tcg',
    raw: {},
    ...fields,
  };
}

function ctx(lines: string[] = []): ExecutorContext {
  return {
    project,
    signal: new AbortController().signal,
    output: (line) => lines.push(line),
    upstream: new Map(),
    tmpDir: dir,
  };
}

describe('box step executor', () => {
  it('resolves a local box, digests its files and notices when one changes', async () => {
    const kernel = join(dir, 'vmlinux');
    writeFileSync(kernel, 'kernel v1');
    const local = step({ source: 'local', name: 'b', kernel, cmdline: 'quiet' });
    expect(boxStepExecutor.inputs(local, project)).toEqual({ dirs: [], files: [kernel], globs: [] });
    const out = await boxStepExecutor.run(local, ctx());
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    const box = boxFromData(out.value.data);
    expect(box).toMatchObject({
      kernel,
      cmdline: 'console=ttyS0 quiet',
      console: 'ttyS0',
      memory: '1G',
      cpus: 1,
    });
    expect(box?.network).toBeUndefined();
    expect(out.value.files).toEqual([]);
    expect(await boxStepExecutor.stillValid?.(local, out.value, project)).toBe(true);
    writeFileSync(kernel, 'kernel v2');
    expect(await boxStepExecutor.stillValid?.(local, out.value, project)).toBe(false);
    const again = await boxStepExecutor.run(local, ctx());
    expect(again.ok && boxFromData(again.value.data)?.digest).not.toBe(box?.digest);

    const missing = await boxStepExecutor.run(step({ source: 'local', kernel: join(dir, 'absent') }), ctx());
    expect(!missing.ok && missing.error[0]).toMatchObject({ reason: 'missing-file', step: 'b' });
  });

  it('fetches an official box; its packages digest is an extra fingerprint field', async () => {
    publishBox(server);
    const official = step({ raw: { registry: 'boxes.yml', 'base-url': server.url } });
    const extra1 = await boxStepExecutor.extra?.(official, { project, signal: new AbortController().signal });
    expect(extra1?.ok && extra1.value['box-packages']).toMatch(/^[0-9a-f]{64}$/);
    const lines: string[] = [];
    const out = await boxStepExecutor.run(official, ctx(lines));
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    const box = boxFromData(out.value.data);
    expect(box).toMatchObject({
      memory: '768M',
      cpus: 2,
      console: 'hvc0',
      cmdline: 'console=hvc0 root=/dev/vda1 rd.plymouth=0',
      network: true,
    });
    expect(box?.disk).toMatch(new RegExp(`${DISK}$`));
    expect(lines.some((l) => l.includes(`${DISK}: `) && l.includes('(100%)'))).toBe(true);
    expect(await boxStepExecutor.stillValid?.(official, out.value, project)).toBe(true);

    server.put(`${REPO}${PACKAGES}`, '{"version": 2}');
    const extra2 = await boxStepExecutor.extra?.(official, { project, signal: new AbortController().signal });
    expect(extra2?.ok && extra1?.ok && extra2.value['box-packages'] !== extra1.value['box-packages']).toBe(
      true,
    );
    const noCheck = step({ raw: { registry: 'boxes.yml', 'base-url': server.url, 'update-check': false } });
    expect(await boxStepExecutor.extra?.(noCheck, { project, signal: new AbortController().signal })).toEqual(
      { ok: true, value: {} },
    );

    const at = { file: project.file, offset: 0, length: 1 };
    const user = step({ fields: { memory: at }, memory: '3G', raw: official.raw });
    const sized = await boxStepExecutor.run(user, ctx());
    expect(sized.ok && boxFromData(sized.value.data)?.memory).toBe('3G');

    // snapshot: false: the builds write the disk; the box stays valid without re-hashing it.
    const writable = step({ raw: { ...official.raw, snapshot: false } });
    const w = await boxStepExecutor.run(writable, ctx());
    expect(w.ok).toBe(true);
    if (!w.ok) return;
    const wdisk = boxFromData(w.value.data)?.disk ?? '';
    writeFileSync(wdisk, 'written by a build');
    expect(await boxStepExecutor.stillValid?.(writable, w.value, project)).toBe(true);
    expect(await boxStepExecutor.stillValid?.(official, w.value, project)).toBe(false);
    const w2 = await boxStepExecutor.run(writable, ctx());
    expect(w2.ok && boxFromData(w2.value.data)?.digest).toBe(boxFromData(w.value.data)?.digest);

    const unknown = await boxStepExecutor.run(step({ name: 'nosuch', raw: official.raw }), ctx());
    expect(!unknown.ok && unknown.error[0]?.reason).toBe('unknown-box');
  });
});

describe('kiwibox box commands', () => {
  // Through bin/kiwibox.js, as users run it: the exit code is the process's own.
  async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const cwd = new TempProject();
    const result = await cwd.kiwibox(args, { KIWIBOX_BOX_STORE: join(dir, 'store') });
    cwd.remove();
    const lines = (text: string) => (text ? text.split('\n') : []);
    return { code: result.exitCode ?? -1, out: lines(result.stdout), err: lines(result.stderr) };
  }

  it('fetches, lists, verifies and removes a box', async () => {
    publishBox(server, '3');
    const registry = join(dir, 'boxes.yml');
    const fetched = await cli([
      'box',
      '--registry',
      registry,
      '--arch',
      'x86_64',
      'fetch',
      'testbox',
      '--base-url',
      server.url,
    ]);
    expect(fetched.err).toEqual([]);
    expect(fetched.code).toBe(0);
    const listed = await cli(['box', '--registry', registry, 'list']);
    expect(listed.code).toBe(0);
    expect(listed.out.find((l) => l.startsWith('testbox'))).toMatch(/testbox\s+x86_64\s+768M\s+\d+\.\d MiB/);
    expect(listed.out.find((l) => l.startsWith('leap'))).toMatch(/leap\s+x86_64\s+8096M\s+-/);
    const verified = await cli(['box', '--registry', registry, '--arch', 'x86_64', 'verify', 'testbox']);
    expect(verified.code).toBe(0);
    expect(verified.out).toHaveLength(2);

    publish(server, DISK, 'not what was published', '0'.repeat(64));
    writeFileSync(join(dir, 'store', 'testbox', 'x86_64', DISK), 'bit rot');
    const broken = await cli(['box', '--registry', registry, '--arch', 'x86_64', 'verify', 'testbox']);
    expect(broken.code).toBe(1);
    expect(broken.err[0]).toMatch(/^error\[checksum-mismatch\]/);

    expect((await cli(['box', '--registry', registry, 'fetch', 'nosuch'])).code).toBe(2);
    const badName = await cli(['box', 'rm', '../etc']);
    expect(badName.err).toEqual(["error[bad-box-name]: '../etc' is not a box name"]);
    expect(badName.code).toBe(2);
    expect((await cli(['box', 'rm', 'nosuchbox'])).code).toBe(1);
    expect((await cli(['box', 'verify', 'nosuchbox'])).code).toBe(2);
    expect((await cli(['box', 'rm', 'testbox'])).code).toBe(0);
    expect((await cli(['box', 'rm', 'testbox'])).code).toBe(1);

    // The host box cache shows in the list and goes with `rm host`.
    mkdirSync(join(dir, 'store', 'host', 'x86_64', 'k'), { recursive: true });
    writeFileSync(join(dir, 'store', 'host', 'x86_64', 'k', 'vmlinux'), 'x'.repeat(2048));
    const withHost = await cli(['box', '--registry', registry, 'list']);
    expect(withHost.out.find((l) => l.startsWith('host'))).toMatch(/^host\s+x86_64\s+-\s+0\.0 MiB/);
    expect((await cli(['box', 'rm', 'host'])).code).toBe(0);
    expect(existsSync(join(dir, 'store', 'host', 'x86_64'))).toBe(false);
    expect((await cli(['box', 'rm', 'host'])).code).toBe(1);
  });
});
