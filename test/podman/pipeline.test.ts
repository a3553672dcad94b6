/**
 * kiwibox.yaml → loader → scheduler with the podman executors: stash → push → stack (pulled from the
 * registry) → kiwi-ng image. The second run is fresh without touching podman's layers; a moved
 * remote tag re-runs only the stack, and the reason names the tag.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { fingerprintServices } from '../../src/cli/session.js';
import { loadProject } from '../../src/config/load.js';
import type { KiwiboxEvent } from '../../src/core/events.js';
import { stackExecutor } from '../../src/executors/podman/stack.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import { executorLookup } from '../../src/executors/registry.js';
import { buildGraph, topologicalOrder } from '../../src/graph/graph.js';
import { runSteps } from '../../src/scheduler/run.js';
import { createTestStore, type TestStore } from '../support/podman-store.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { busyboxRoot, fastKiwiConfig, kiwiBusyboxRoot } from './fixtures.js';

let store: TestStore;
let registry: TestRegistry;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  store = await createTestStore({ [registry.host]: { tlsVerify: false } });
  dir = await mkdtemp(join(tmpdir(), 'kiwibox-pipeline-test-'));
});

afterAll(async () => {
  await store?.dispose();
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  expect(await store.leftovers()).toEqual([]);
});

async function run(): Promise<KiwiboxEvent[]> {
  const loaded = await loadProject({ file: join(dir, 'kiwibox.yaml') });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.error));
  const { project } = loaded.value;
  const events: KiwiboxEvent[] = [];
  await runSteps({
    project,
    order: topologicalOrder(project, buildGraph(project.steps)),
    lookup: executorLookup({ stash: stashExecutor, stack: stackExecutor }),
    services: fingerprintServices(project.stateDir),
    emit: (event) => events.push(event),
    jobs: 2,
    keepGoing: false,
    force: false,
    signal: new AbortController().signal,
  });
  return events;
}

/** Image ids with creation times, and the overlay layer directories: what a podman write would change. */
async function podmanState(): Promise<string> {
  const { readdir } = await import('node:fs/promises');
  const images = await store.podman(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.CreatedAt}}']);
  const layers = (await readdir(join(store.settings.root as string, 'overlay'))).sort().join(' ');
  return `${images}\n${layers}`;
}

const outcome = (events: KiwiboxEvent[]) =>
  Object.fromEntries(
    events
      .filter((e) => e.type === 'step-succeeded' || e.type === 'step-fresh' || e.type === 'step-failed')
      .map((e) => [(e as { step: string }).step, e.type]),
  );

describe('pipeline: stash → push → stack → image', () => {
  test('runs, is fresh the second time without touching podman, re-runs the stack when a tag moves', async () => {
    await kiwiBusyboxRoot(join(dir, 'root'), 'pipeline', { 'etc/motd': 'base\n' });
    await busyboxRoot(join(dir, 'app1'), { 'opt/app/version': '1\n' });
    await busyboxRoot(join(dir, 'app2'), { 'opt/app/version': '2\n' });
    const fast = await fastKiwiConfig(dir);
    const appRef = `${registry.host}/moving/app:v1`;
    const s = store.settings;
    await writeFile(
      join(dir, 'kiwibox.yaml'),
      [
        'version: 1',
        'podman:',
        `  root: ${s.root}`,
        `  runroot: ${s.runroot}`,
        `  tmpdir: ${s.tmpdir}`,
        '  storage-driver: overlay',
        `  registries: {"${registry.host}": {tls-verify: false}}`,
        'stashes:',
        '  base:',
        '    root: ./root',
        `    push: {registry: "${registry.host}", tls-verify: false}`,
        'stacks:',
        '  image:',
        `    images: [base, "${appRef}"]`,
        `    from-registry: "${registry.host}"`,
        '    target-dir: ./out',
        `    kiwi-args: [--config, ${fast}]`,
        '',
      ].join('\n'),
    );
    // The remote app image the stack takes by fully qualified reference.
    const importApp = async (tree: string, tag: string) => {
      const tar = join(dir, `${tag}.tar`);
      const { runProcess } = await import('../../src/executors/process.js');
      await runProcess({ argv: ['tar', '-C', join(dir, tree), '-cf', tar, '.'], cwd: dir });
      await store.podman(['import', '-q', tar, `localhost/app:${tag}`]);
      await store.podman(['push', '-q', '--tls-verify=false', `localhost/app:${tag}`, `docker://${appRef}`]);
    };
    await importApp('app1', 'one');

    const first = await run();
    expect(outcome(first), JSON.stringify(first.filter((e) => e.type === 'step-failed'))).toEqual({
      base: 'step-succeeded',
      image: 'step-succeeded',
    });

    const layersBefore = await podmanState();
    const second = await run();
    expect(outcome(second)).toEqual({ base: 'step-fresh', image: 'step-fresh' });
    expect(await podmanState()).toBe(layersBefore);

    await importApp('app2', 'two');
    const third = await run();
    expect(outcome(third)).toEqual({ base: 'step-fresh', image: 'step-succeeded' });
    const started = third.find((e) => e.type === 'step-started' && e.step === 'image');
    expect(started && 'reasons' in started ? started.reasons : []).toContainEqual(
      expect.objectContaining({ type: 'extra-changed', key: `image ${appRef}` }),
    );
  });
});
