import { lstat, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { StackStep, StashStep } from '../../src/core/model.js';
import { PodmanSession } from '../../src/executors/podman/podman.js';
import { removeStaleScripts, stackExecutor, stackInto } from '../../src/executors/podman/stack.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import {
  busyboxRoot,
  contextFor,
  kiwiBusyboxRoot,
  projectOf,
  stackStep,
  stashStep,
  tarList,
  withPodmanFixture,
  writeTree,
} from './fixtures.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-stack-test-' });

/** Runs stash steps (in order) and fails the test on any failure. */
async function stash(...steps: StashStep[]): Promise<void> {
  for (const step of steps) {
    const result = await stashExecutor.run(
      step,
      await contextFor(projectOf(fx.work, fx.store.settings, steps)),
    );
    expect(result.ok, JSON.stringify(result)).toBe(true);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe('stack executor', () => {
  test('push, delete locally, stack from the registry, then kiwi-ng system create', async () => {
    const base = stashStep({
      id: 'base',
      root: { dir: await kiwiBusyboxRoot(join(fx.work, 'base'), 'stacked', { 'etc/base-only': 'b' }) },
      name: 'reg/base',
      push: { registry: fx.registry.host, tlsVerify: false },
    });
    const app = stashStep({
      id: 'app',
      root: { dir: await busyboxRoot(join(fx.work, 'app'), { 'opt/app/hello': 'hello' }) },
      name: 'reg/app',
      push: { registry: fx.registry.host, tlsVerify: false },
    });
    await stash(base, app);
    await fx.store.podman(['rmi', '-f', 'localhost/reg/base:latest', 'localhost/reg/app:latest']);
    expect(await fx.store.podman(['images', '-q'])).toBe('');

    const step: StackStep = stackStep({
      id: 'vm',
      images: [{ stash: 'base' }, { stash: 'app' }],
      fromRegistry: fx.registry.host,
      targetDir: join(fx.work, 'out-registry'),
      kiwiArgs: ['--config', fx.fastConfig],
    });
    const project = projectOf(fx.work, fx.store.settings, [base, app, step]);
    // Stash images are pinned by the stash steps' records (upstream tokens), not asked for again.
    const extra = await stackExecutor.extra?.(step, { project, signal: new AbortController().signal });
    expect(extra).toEqual({ ok: true, value: {} });
    const ctx = await contextFor(project);
    const result = await stackExecutor.run(step, ctx);
    expect(result.ok, JSON.stringify(result) + ctx.lines.slice(-20).join('\n')).toBe(true);
    if (!result.ok) return;
    const archive = result.value.files.find((file) => file.endsWith('.tar.xz'));
    expect(archive).toBeDefined();
    expect(archive?.startsWith(join(fx.work, 'out-registry'))).toBe(true);
    const entries = await tarList(archive as string);
    expect(entries).toContain('opt/app/hello');
    expect(entries).toContain('etc/base-only');
    expect(entries).toContain('usr/bin/busybox');
    const root = join(fx.work, 'out-registry', 'build', 'image-root');
    expect((await stat(root)).mode & 0o777).toBe(0o755);
    expect(result.value.data.images).toContain(`${fx.registry.host}/reg/app:latest@`);
    expect(await readdir(fx.work)).not.toContain('.out-registry.kiwibox-staging');
  });

  test('a moved remote tag changes the digest extra() reports', async () => {
    const one = stashStep({
      id: 'one',
      root: { dir: await busyboxRoot(join(fx.work, 'm1'), { a: '1' }) },
      name: 'm1',
    });
    const two = stashStep({
      id: 'two',
      root: { dir: await busyboxRoot(join(fx.work, 'm2'), { a: '2' }) },
      name: 'm2',
    });
    await stash(one, two);
    const ref = `${fx.registry.host}/moving/tag:v1`;
    const step = stackStep({ id: 's', images: [{ ref }], targetDir: join(fx.work, 'out-moving') });
    const project = projectOf(fx.work, fx.store.settings, [step]);
    const signal = new AbortController().signal;
    await fx.store.podman(['push', '-q', '--tls-verify=false', 'localhost/m1:latest', `docker://${ref}`]);
    const before = await stackExecutor.extra?.(step, { project, signal });
    await fx.store.podman(['push', '-q', '--tls-verify=false', 'localhost/m2:latest', `docker://${ref}`]);
    const after = await stackExecutor.extra?.(step, { project, signal });
    expect(before?.ok && after?.ok, JSON.stringify([before, after])).toBe(true);
    if (!before?.ok || !after?.ok) return;
    expect(before.value[`image ${ref}`]).toMatch(/^sha256:/);
    expect(after.value[`image ${ref}`]).toMatch(/^sha256:/);
    expect(after.value[`image ${ref}`]).not.toBe(before.value[`image ${ref}`]);
  });

  test('failures (missing image, kiwi-ng failing after the sync) leave nothing; a retry then succeeds', async () => {
    const good = stashStep({
      id: 'good',
      root: { dir: await kiwiBusyboxRoot(join(fx.work, 'good'), 'retry') },
      name: 'retry/good',
    });
    const plain = stashStep({
      id: 'plain',
      root: { dir: await busyboxRoot(join(fx.work, 'plain')) },
      name: 'retry/plain',
    });
    await stash(good, plain);
    const targetDir = join(fx.work, 'out-retry');
    const missing = stackStep({
      id: 'r',
      images: [{ stash: 'good' }, { ref: 'localhost/retry/missing:1' }],
      targetDir,
      kiwiArgs: ['--config', fx.fastConfig],
    });
    const project = projectOf(fx.work, fx.store.settings, [good, plain, missing]);
    const first = await stackExecutor.run(missing, await contextFor(project));
    expect(first.ok).toBe(false);
    if (!first.ok) expect(first.error[0]?.reason).toBe('image-not-found');
    expect(await exists(targetDir)).toBe(false);

    // The plain tree has no /image/config.xml: the sync works, kiwi-ng system create fails.
    const noDescription = { ...missing, images: [{ stash: 'plain' }] };
    const second = await stackExecutor.run(noDescription, await contextFor(project));
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.error[0]?.reason).toBe('kiwi-failed');
    expect(await exists(targetDir)).toBe(false);
    expect((await readdir(fx.work)).filter((name) => name.includes('kiwibox-staging'))).toEqual([]);

    const retry = { ...missing, images: [{ stash: 'plain' }, { stash: 'good' }] };
    const third = await stackExecutor.run(retry, await contextFor(project));
    expect(third.ok, JSON.stringify(third)).toBe(true);
    expect(await exists(join(targetDir, 'kiwi.result.json'))).toBe(true);
  });

  test('abort during the sync leaves no mount, no work container and no target', async () => {
    const bigRoot = await busyboxRoot(join(fx.work, 'big'));
    for (let i = 0; i < 60; i++) await writeFile(join(bigRoot, `f${i}.bin`), Buffer.alloc(1 << 20, i));
    const big = stashStep({ id: 'big', root: { dir: bigRoot }, name: 'abort/big' });
    await stash(big);
    const targetDir = join(fx.work, 'out-abort');
    const step = stackStep({ id: 'a', images: [{ stash: 'big' }, { stash: 'big' }], targetDir });
    const controller = new AbortController();
    const ctx = await contextFor(projectOf(fx.work, fx.store.settings, [big, step]), {
      signal: controller.signal,
    });
    const output = ctx.output;
    const aborting = {
      ...ctx,
      output: (line: string, stream?: 'stdout' | 'stderr') => {
        output(line, stream);
        if (line.startsWith('sync ')) setTimeout(() => controller.abort(), 20);
      },
    };
    const result = await stackExecutor.run(step, aborting);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.reason).toBe('cancelled');
    expect(await exists(targetDir)).toBe(false);
  });

  test('keep-dirlinks keeps a usr-merged /bin symlink when a later image has a real /bin', async () => {
    const merged = stashStep({
      id: 'um',
      root: { dir: await busyboxRoot(join(fx.work, 'um')) },
      name: 'dirlinks/merged',
    });
    const realBin = join(fx.work, 'realbin');
    await writeTree(realBin, { 'bin/extra': 'x' });
    const plain = stashStep({ id: 'rb', root: { dir: realBin }, name: 'dirlinks/realbin' });
    await stash(merged, plain);
    const images = [
      { ref: 'localhost/dirlinks/merged:latest', remote: false },
      { ref: 'localhost/dirlinks/realbin:latest', remote: false },
    ];
    for (const keepDirlinks of [true, false]) {
      const root = join(fx.work, `dirlinks-${keepDirlinks}`);
      await mkdir(root, { mode: 0o755 });
      const session = new PodmanSession({ settings: fx.store.settings, cwd: fx.work });
      const ctx = await contextFor(projectOf(fx.work, fx.store.settings, []));
      const result = await stackInto({ images, root, keepDirlinks, session, ctx });
      await session.cleanup();
      expect(result.ok, JSON.stringify(result)).toBe(true);
      expect((await lstat(join(root, 'bin'))).isSymbolicLink()).toBe(keepDirlinks);
      expect(await exists(join(root, keepDirlinks ? 'usr/bin/extra' : 'bin/extra'))).toBe(true);
      expect((await stat(root)).mode & 0o777).toBe(0o755);
    }
  });

  test("removeStaleScripts drops the lower stashes' image/*.sh and keeps the rest", async () => {
    const root = join(fx.work, 'scripts-root');
    await writeTree(root, { 'image/config.sh': 'x', 'image/images.sh': 'y', 'image/config.xml': '<image/>' });
    expect(await removeStaleScripts(root)).toEqual(['config.sh', 'images.sh']);
    expect(await readdir(join(root, 'image'))).toEqual(['config.xml']);
    expect(await removeStaleScripts(join(fx.work, 'no-such-root'))).toEqual([]);
  });

  test('a description with a bootstrap section and short names are refused before anything is mounted', async () => {
    const description = join(fx.work, 'desc-bootstrap');
    await busyboxRoot(description);
    await writeFile(
      join(description, 'config.xml'),
      '<image name="x"><packages type="bootstrap"><package name="a"/></packages></image>',
    );
    const step = stackStep({
      id: 'b',
      images: [{ ref: 'localhost/whatever:1' }],
      description,
      targetDir: join(fx.work, 'out-b'),
    });
    const result = await stackExecutor.run(
      step,
      await contextFor(projectOf(fx.work, fx.store.settings, [step])),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.reason).toBe('bootstrap-into-existing-root');

    const short = stackStep({
      id: 'c',
      images: [{ ref: 'busybox:latest' }],
      targetDir: join(fx.work, 'out-c'),
    });
    const shortResult = await stackExecutor.run(
      short,
      await contextFor(projectOf(fx.work, fx.store.settings, [short])),
    );
    expect(shortResult.ok).toBe(false);
    if (!shortResult.ok) expect(shortResult.error[0]?.reason).toBe('short-image-name');
  });
});
