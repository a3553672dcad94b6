import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { BuildStep } from '../../src/core/model.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import { busyboxRoot, contextFor, projectOf, stashStep, withPodmanFixture } from './fixtures.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-stash-test-' });

describe('stash executor', () => {
  test('two stashes give two layers; a deleted file becomes a whiteout; labels and CMD are set', async () => {
    const root = await busyboxRoot(join(fx.work, 'two'), { 'etc/removed': 'gone soon', 'etc/kept': 'v1' });
    await mkdir(join(root, 'image'));
    await writeFile(
      join(root, 'image/config.xml'),
      '<image schemaversion="7.5" name="x"><description type="system"><author>Jane Doe "JD"</author></description></image>',
    );
    const step = stashStep({ id: 'two', root: { dir: root }, name: 'two', tag: 't1' });
    const project = projectOf(fx.work, fx.store.settings, [step]);
    const ctx = await contextFor(project);

    const first = await stashExecutor.run(step, ctx);
    expect(first.ok, JSON.stringify(first)).toBe(true);
    if (!first.ok) return;
    expect(first.value.data.image).toBe('localhost/two:t1');
    expect(first.value.data.layers).toBe('1');

    await unlink(join(root, 'etc/removed'));
    await writeFile(join(root, 'etc/kept'), 'v2');
    const second = await stashExecutor.run(step, ctx);
    expect(second.ok, JSON.stringify(second)).toBe(true);
    if (!second.ok) return;
    expect(second.value.data.layers).toBe('2');
    expect(second.value.data.imageId).not.toBe(first.value.data.imageId);

    const diff = await fx.store.podman(['image', 'diff', 'localhost/two:t1']);
    expect(diff).toMatch(/^D \/etc\/removed$/m);
    const inspect = JSON.parse(await fx.store.podman(['image', 'inspect', 'localhost/two:t1']))[0];
    expect(inspect.Config.Cmd).toEqual(['/bin/sh']);
    expect(inspect.Labels['io.osinside.kiwi.maintainer']).toBe("Jane Doe 'JD'");
    expect(inspect.Labels['io.osinside.kiwi.meta']).toMatch(/^KIWI/);

    const mount = await fx.store.podman(['image', 'mount', 'localhost/two:t1']);
    try {
      const { readFile, readdir } = await import('node:fs/promises');
      expect(await readFile(join(mount, 'etc/kept'), 'utf8')).toBe('v2');
      expect(await readdir(join(mount, 'dev'))).toEqual([]);
      expect(await readFile(join(mount, 'image/config.xml'), 'utf8')).toContain('Jane Doe');
    } finally {
      await fx.store.podman(['image', 'umount', 'localhost/two:t1']);
    }
    expect(await stashExecutor.stillValid?.(step, second.value, project)).toBe(true);
    expect(await stashExecutor.stillValid?.(step, first.value, project)).toBe(false);
    await ctx.dispose();
  });

  test("push gives ref@digest and the registry serves it (the stash's own tls-verify: false)", async () => {
    const root = await busyboxRoot(join(fx.work, 'pushed'), { 'etc/hello': 'hi' });
    const step = stashStep({
      id: 'p',
      root: { dir: root },
      name: 'team/pushed',
      tag: 'v1',
      push: { registry: fx.registry.host, tlsVerify: false },
    });
    // No `podman.registries` entry: the stash's push settings alone must reach the plain-HTTP registry.
    const project = projectOf(fx.work, { ...fx.store.settings, registries: {} }, [step]);
    const ctx = await contextFor(project);
    const result = await stashExecutor.run(step, ctx);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.value.data.pushed).toMatch(
      new RegExp(`^${fx.registry.host}/team/pushed:v1@sha256:[0-9a-f]{64}$`),
    );
    const tags = await fetch(`http://${fx.registry.host}/v2/team/pushed/tags/list`).then((r) => r.json());
    expect(tags).toEqual({ name: 'team/pushed', tags: ['v1'] });
    await ctx.dispose();
  });

  test('abort during a delta stash removes the work container and keeps the previous image', async () => {
    const root = await busyboxRoot(join(fx.work, 'abort'));
    const step = stashStep({ id: 'ab', root: { dir: root }, name: 'abort' });
    const project = projectOf(fx.work, fx.store.settings, [step]);
    const first = await stashExecutor.run(step, await contextFor(project));
    expect(first.ok).toBe(true);
    for (let i = 0; i < 80; i++) await writeFile(join(root, `f${i}.bin`), Buffer.alloc(1 << 20, i));
    const controller = new AbortController();
    const ctx = await contextFor(project, { signal: controller.signal });
    // Abort once the work container exists (rsync is then running into its mount).
    const timer = setInterval(async () => {
      const names = await fx.store.podman(['ps', '-a', '--format', '{{.Names}}']).catch(() => '');
      if (names.includes('kiwibox-stash-')) {
        clearInterval(timer);
        controller.abort();
      }
    }, 20);
    const second = await stashExecutor.run(step, ctx);
    clearInterval(timer);
    expect(second.ok).toBe(false);
    if (!second.ok) expect(second.error[0]?.reason).toBe('cancelled');
    if (first.ok) expect(await stashExecutor.stillValid?.(step, first.value, project)).toBe(true);
  });

  test('work containers of a killed kiwibox are removed by the next stash', async () => {
    const root = await busyboxRoot(join(fx.work, 'stale'));
    const step = stashStep({ id: 'st', root: { dir: root }, name: 'stale' });
    const project = projectOf(fx.work, fx.store.settings, [step]);
    expect((await stashExecutor.run(step, await contextFor(project))).ok).toBe(true);
    const { execa } = await import('execa');
    const child = execa('true');
    const dead = child.pid as number;
    await child; // exited: its pid stands for a kiwibox killed with SIGKILL
    await fx.store.podman([
      'create',
      '--pull=never',
      '--label',
      `io.kiwibox.work-pid=${dead}`,
      '--name',
      'kiwibox-stash-stale',
      'localhost/stale:latest',
      '/bin/sh',
    ]);
    await fx.store.podman([
      'create',
      '--pull=never',
      '--name',
      'not-ours',
      'localhost/stale:latest',
      '/bin/sh',
    ]);
    expect((await stashExecutor.run(step, await contextFor(project))).ok).toBe(true);
    expect(await fx.store.podman(['ps', '-a', '--format', '{{.Names}}'])).toBe('not-ours');
    await fx.store.podman(['rm', 'not-ours']);
  });

  test('invalid names and a boxed build root are failures with reasons', async () => {
    const bad = stashStep({ id: 'bad', root: { dir: fx.work }, name: 'Upper', tag: 'bad tag' });
    const ctx = await contextFor(projectOf(fx.work, fx.store.settings, [bad]));
    const result = await stashExecutor.run(bad, ctx);
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.error.map((f) => f.reason).sort()).toEqual(['invalid-image-name', 'invalid-image-tag']);

    const build: BuildStep = {
      kind: 'build',
      id: 'vm',
      deps: [],
      location: bad.location,
      fields: {},
      description: fx.work,
      targetDir: join(fx.work, 'out'),
      profiles: [],
      kiwiArgs: [],
      box: 'debian',
      sharing: '9p',
      timeout: 60,
    };
    const fromBox = stashStep({ id: 's', root: { build: 'vm' }, name: 'boxed' });
    const boxed = await stashExecutor.run(
      fromBox,
      await contextFor(projectOf(fx.work, fx.store.settings, [build, fromBox])),
    );
    expect(boxed.ok).toBe(false);
    if (!boxed.ok) expect(boxed.error[0]?.reason).toBe('root-unavailable');
    await ctx.dispose();
  });

  test('missing root is root-unavailable', async () => {
    const step = stashStep({ id: 'm', root: { dir: join(fx.work, 'nope') }, name: 'missing' });
    const result = await stashExecutor.run(
      step,
      await contextFor(projectOf(fx.work, fx.store.settings, [step])),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error[0]?.reason).toBe('root-unavailable');
  });
});
