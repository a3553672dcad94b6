/**
 * The seed's shapes with real kiwi-ng on a real Debian root: container → image (a stack of a Debian
 * stash and an app stash, plus a description adding a package: `system build --allow-existing-root`)
 * and a rebuild from the stash alone (`system create` from the stash's own /image/config.xml).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { stackExecutor } from '../../src/executors/podman/stack.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import { runProcess } from '../../src/executors/process.js';
import { type DebianRoot, debianDescription, debianRoot, disposeDebianRoot } from '../support/debian-root.js';
import { createTestStore, type TestStore } from '../support/podman-store.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import {
  contextFor,
  disposeContexts,
  fastKiwiConfig,
  projectOf,
  stackStep,
  stashStep,
  writeTree,
} from './fixtures.js';

let store: TestStore;
let registry: TestRegistry;
let work: string;
let fastConfig: string;
let debian: DebianRoot;

beforeAll(async () => {
  registry = await startRegistry();
  store = await createTestStore({ [registry.host]: { tlsVerify: false } });
  work = await mkdtemp(join(tmpdir(), 'kiwibox-debian-test-'));
  fastConfig = await fastKiwiConfig(work);
  debian = await debianRoot();
}, 900_000);

afterAll(async () => {
  await disposeContexts();
  await store?.dispose();
  await registry?.stop();
  await disposeDebianRoot();
  if (work) await rm(work, { recursive: true, force: true });
});

afterEach(async () => {
  expect(await store.leftovers()).toEqual([]);
});

async function tarList(file: string): Promise<string[]> {
  const listed = await runProcess({ argv: ['tar', '-tJf', file], cwd: work });
  if (!listed.ok) throw new Error(`tar -t ${file} failed`);
  return listed.value.stdout.split('\n').map((entry) => entry.replace(/^\.\//, ''));
}

describe('stacks on a real Debian root', () => {
  test('stash → push → delete locally → stack + description (system build) and rebuild (system create)', async () => {
    const base = stashStep({
      id: 'base',
      root: { dir: debian.root },
      name: 'debian/base',
      tag: 'bookworm',
      push: { registry: registry.host, tlsVerify: false },
    });
    const appDir = join(work, 'app');
    await writeTree(appDir, { 'opt/app/hello': 'hello from the app stash\n' });
    const app = stashStep({
      id: 'app',
      root: { dir: appDir },
      name: 'debian/app',
      push: { registry: registry.host, tlsVerify: false },
    });
    const description = join(work, 'derived');
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
      fromRegistry: registry.host,
      description,
      targetDir: join(work, 'out-build'),
      kiwiArgs: ['--config', fastConfig],
    });
    const rebuild = stackStep({
      id: 'rebuild',
      images: [{ stash: 'base' }, { stash: 'app' }],
      targetDir: join(work, 'out-rebuild'),
      kiwiArgs: ['--config', fastConfig],
    });
    const project = projectOf(work, store.settings, [base, app, build, rebuild]);

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
    await store.podman(['rmi', '-f', 'localhost/debian/base:bookworm', 'localhost/debian/app:latest']);
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
