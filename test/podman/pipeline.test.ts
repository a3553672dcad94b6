/**
 * kiwibox.yaml → loader → scheduler with the podman executors: stash → push → stack (pulled from the
 * registry) → kiwi-ng image. The second run is fresh without touching podman's layers; a moved
 * remote tag re-runs only the stack, and the reason names the tag.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  busyboxRoot,
  kiwiBusyboxRoot,
  outcome,
  podmanState,
  podmanYaml,
  runProjectFile,
  withPodmanFixture,
} from './fixtures.js';

const fx = withPodmanFixture({ prefix: 'kiwibox-pipeline-test-' });

describe('pipeline: stash → push → stack → image', () => {
  test('runs, is fresh the second time without touching podman, re-runs the stack when a tag moves', async () => {
    await kiwiBusyboxRoot(join(fx.work, 'root'), 'pipeline', { 'etc/motd': 'base\n' });
    await busyboxRoot(join(fx.work, 'app1'), { 'opt/app/version': '1\n' });
    await busyboxRoot(join(fx.work, 'app2'), { 'opt/app/version': '2\n' });
    const appRef = `${fx.registry.host}/moving/app:v1`;
    await writeFile(
      join(fx.work, 'kiwibox.yaml'),
      [
        'version: 1',
        ...podmanYaml(fx.store.settings, fx.registry.host),
        'stashes:',
        '  base:',
        '    root: ./root',
        `    push: {registry: "${fx.registry.host}", tls-verify: false}`,
        'stacks:',
        '  image:',
        `    images: [base, "${appRef}"]`,
        `    from-registry: "${fx.registry.host}"`,
        '    target-dir: ./out',
        `    kiwi-args: [--config, ${fx.fastConfig}]`,
        '',
      ].join('\n'),
    );
    // The remote app image the stack takes by fully qualified reference.
    const importApp = async (tree: string, tag: string) => {
      const tar = join(fx.work, `${tag}.tar`);
      const { runProcess } = await import('../../src/process/run.js');
      await runProcess({ argv: ['tar', '-C', join(fx.work, tree), '-cf', tar, '.'], cwd: fx.work });
      await fx.store.podman(['import', '-q', tar, `localhost/app:${tag}`]);
      await fx.store.podman([
        'push',
        '-q',
        '--tls-verify=false',
        `localhost/app:${tag}`,
        `docker://${appRef}`,
      ]);
    };
    await importApp('app1', 'one');

    const first = await runProjectFile(fx.work);
    expect(outcome(first), JSON.stringify(first.filter((e) => e.type === 'step-failed'))).toEqual({
      base: 'step-succeeded',
      image: 'step-succeeded',
    });

    const layersBefore = await podmanState(fx.store);
    const second = await runProjectFile(fx.work);
    expect(outcome(second)).toEqual({ base: 'step-fresh', image: 'step-fresh' });
    expect(await podmanState(fx.store)).toBe(layersBefore);

    await importApp('app2', 'two');
    const third = await runProjectFile(fx.work);
    expect(outcome(third)).toEqual({ base: 'step-fresh', image: 'step-succeeded' });
    const started = third.find((e) => e.type === 'step-started' && e.step === 'image');
    expect(started && 'reasons' in started ? started.reasons : []).toContainEqual(
      expect.objectContaining({ type: 'extra-changed', key: `image ${appRef}` }),
    );
  });
});
