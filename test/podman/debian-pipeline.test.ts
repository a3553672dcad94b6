/**
 * The end-to-end shape from a kiwibox.yaml, with real kiwi-ng, podman and registry:
 * host build (Debian) → stash of its image root → push → stack pulled from the registry plus a
 * description adding a package → image. The second run is fresh and leaves podman's layers alone.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { debianDescription, debianMirror } from '../support/debian-root.js';
import { outcome, podmanState, podmanYaml, runProjectFile, tarList, withPodmanFixture } from './fixtures.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-debian-pipeline-' });

describe('pipeline on a real Debian build', () => {
  test('build → stash → push → stack + description → image; then fresh', async () => {
    const mirror = await debianMirror();
    for (const [name, packages, bootstrap] of [
      ['base', ['netbase'], true],
      ['derived', ['less'], false],
    ] as const) {
      await mkdir(join(fx.work, name));
      await writeFile(
        join(fx.work, name, 'config.xml'),
        debianDescription({ name: `pipeline-${name}`, mirror, imagePackages: packages, bootstrap }),
      );
    }
    await writeFile(
      join(fx.work, 'kiwibox.yaml'),
      [
        'version: 1',
        ...podmanYaml(fx.store.settings, fx.registry.host),
        'builds:',
        '  debian:',
        '    description: ./base',
        '    target-dir: ./out/debian',
        `    kiwi-args: [--config, ${fx.fastConfig}]`,
        'stashes:',
        '  debian-base:',
        '    root: debian',
        '    tag: bookworm',
        `    push: {registry: "${fx.registry.host}", tls-verify: false}`,
        'stacks:',
        '  vm:',
        '    images: [debian-base]',
        `    from-registry: "${fx.registry.host}"`,
        '    description: ./derived',
        '    target-dir: ./out/vm',
        `    kiwi-args: [--config, ${fx.fastConfig}]`,
        '',
      ].join('\n'),
    );

    const first = await runProjectFile(fx.work);
    const failed = first.filter((e) => e.type === 'step-failed');
    expect(outcome(first), JSON.stringify(failed)).toEqual({
      debian: 'step-succeeded',
      'debian-base': 'step-succeeded',
      vm: 'step-succeeded',
    });
    const pulled = await fx.store.podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(pulled.split('\n')).toContain(`${fx.registry.host}/debian-base:bookworm`);
    const archives = (await readdir(join(fx.work, 'out/vm'))).filter((name) => name.endsWith('.tar.xz'));
    expect(archives).toHaveLength(1);
    const entries = await tarList(join(fx.work, 'out/vm', archives[0] as string));
    expect(entries).toContain('usr/bin/less');
    expect(entries).toContain('etc/debian_version');

    const before = await podmanState(fx.store);
    const second = await runProjectFile(fx.work);
    const reasons = second.filter((e) => e.type === 'step-started');
    expect(outcome(second), JSON.stringify(reasons)).toEqual({
      debian: 'step-fresh',
      'debian-base': 'step-fresh',
      vm: 'step-fresh',
    });
    expect(await podmanState(fx.store)).toBe(before);
  }, 1_500_000);
});
