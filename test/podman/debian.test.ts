/**
 * The seed's shapes with real kiwi-ng on a real Debian root: container → image (a stack of a Debian
 * stash and an app stash, plus a description adding a package: `system build --allow-existing-root`)
 * and a rebuild from the stash alone (`system create` from the stash's own /image/config.xml).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stackExecutor } from '../../src/executors/podman/stack.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import { type DebianRoot, debianDescription, debianRoot, disposeDebianRoot } from '../support/debian-root.js';
import {
  contextFor,
  projectOf,
  stackStep,
  stashStep,
  tarList,
  withPodmanFixture,
  writeTree,
} from './fixtures.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-debian-test-' });

let debian: DebianRoot;

beforeAll(async () => {
  debian = await debianRoot();
}, 900_000);

afterAll(async () => {
  await disposeDebianRoot();
});

describe('stacks on a real Debian root', () => {
  test('stash → push → delete locally → stack + description (system build) and rebuild (system create)', async () => {
    const base = stashStep({
      id: 'base',
      root: { dir: debian.root },
      name: 'debian/base',
      tag: 'bookworm',
      push: { registry: fx.registry.host, tlsVerify: false },
    });
    const appDir = join(fx.work, 'app');
    await writeTree(appDir, { 'opt/app/hello': 'hello from the app stash\n' });
    const app = stashStep({
      id: 'app',
      root: { dir: appDir },
      name: 'debian/app',
      push: { registry: fx.registry.host, tlsVerify: false },
    });
    const description = join(fx.work, 'derived');
    await mkdir(description);
    await writeFile(
      join(description, 'config.xml'),
      debianDescription({
        name: 'derived',
        mirror: debian.mirror,
        imagePackages: ['less'],
        bootstrap: false,
      }),
    );
    const build = stackStep({
      id: 'image',
      images: [{ stash: 'base' }, { stash: 'app' }],
      fromRegistry: fx.registry.host,
      description,
      targetDir: join(fx.work, 'out-build'),
      kiwiArgs: ['--config', fx.fastConfig],
    });
    const rebuild = stackStep({
      id: 'rebuild',
      images: [{ stash: 'base' }, { stash: 'app' }],
      targetDir: join(fx.work, 'out-rebuild'),
      kiwiArgs: ['--config', fx.fastConfig],
    });
    const project = projectOf(fx.work, fx.store.settings, [base, app, build, rebuild]);

    for (const step of [base, app]) {
      const ctx = await contextFor(project);
      const result = await stashExecutor.run(step, ctx);
      expect(result.ok, JSON.stringify(result)).toBe(true);
    }
    // Rebuild from the local stashes first: needs no repository at all.
    const rebuildCtx = await contextFor(project);
    const rebuilt = await stackExecutor.run(rebuild, rebuildCtx);
    expect(rebuilt.ok, JSON.stringify(rebuilt) + rebuildCtx.lines.slice(-30).join('\n')).toBe(true);
    if (!rebuilt.ok) return;
    const rebuiltArchive = rebuilt.value.files.find((file) => file.endsWith('.tar.xz')) as string;
    expect(rebuiltArchive).toContain('kiwibox-debian');
    const rebuiltEntries = await tarList(rebuiltArchive);
    expect(rebuiltEntries).toContain('etc/debian_version');
    expect(rebuiltEntries).toContain('opt/app/hello');

    // Then the container → image shape from the registry only.
    await fx.store.podman(['rmi', '-f', 'localhost/debian/base:bookworm', 'localhost/debian/app:latest']);
    const ctx = await contextFor(project);
    const built = await stackExecutor.run(build, ctx);
    expect(built.ok, JSON.stringify(built) + ctx.lines.slice(-30).join('\n')).toBe(true);
    if (!built.ok) return;
    expect(ctx.lines.join('\n')).toMatch(/bootstrap stage skipped/i);
    const archive = built.value.files.find((file) => file.endsWith('.tar.xz')) as string;
    expect(archive).toContain('derived');
    const entries = await tarList(archive);
    expect(entries).toContain('usr/bin/less');
    expect(entries).toContain('opt/app/hello');
    expect(entries).toContain('etc/debian_version');
  }, 900_000);
});
