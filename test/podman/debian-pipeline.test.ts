/**
 * The end-to-end shape from a kiwibox.yaml, with real kiwi-ng, podman and registry:
 * host build (Debian) → stash of its image root → push → stack pulled from the registry plus a
 * description adding a package → image. The second run is fresh and leaves podman's layers alone.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { fingerprintServices } from '../../src/cli/session.js';
import { loadProject } from '../../src/config/load.js';
import type { KiwiboxEvent } from '../../src/core/events.js';
import { stackExecutor } from '../../src/executors/podman/stack.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import { runProcess } from '../../src/executors/process.js';
import { executorLookup } from '../../src/executors/registry.js';
import { buildGraph, topologicalOrder } from '../../src/graph/graph.js';
import { runSteps } from '../../src/scheduler/run.js';
import { debianDescription, debianMirror } from '../support/debian-root.js';
import { createTestStore, type TestStore } from '../support/podman-store.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { fastKiwiConfig } from './fixtures.js';

let store: TestStore;
let registry: TestRegistry;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  store = await createTestStore({ [registry.host]: { tlsVerify: false } });
  dir = await mkdtemp(join(tmpdir(), 'kiwibox-debian-pipeline-'));
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

const outcome = (events: KiwiboxEvent[]) =>
  Object.fromEntries(
    events
      .filter((e) => e.type === 'step-succeeded' || e.type === 'step-fresh' || e.type === 'step-failed')
      .map((e) => [(e as { step: string }).step, e.type]),
  );

async function podmanState(): Promise<string> {
  const images = await store.podman(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.CreatedAt}}']);
  const layers = (await readdir(join(store.settings.root as string, 'overlay'))).sort().join(' ');
  return `${images}\n${layers}`;
}

describe('pipeline on a real Debian build', () => {
  test('build → stash → push → stack + description → image; then fresh', async () => {
    const mirror = await debianMirror();
    for (const [name, packages, bootstrap] of [
      ['base', ['netbase'], true],
      ['derived', ['less'], false],
    ] as const) {
      await mkdir(join(dir, name));
      await writeFile(
        join(dir, name, 'config.xml'),
        debianDescription({ name: `pipeline-${name}`, mirror, imagePackages: packages, bootstrap }),
      );
    }
    const fast = await fastKiwiConfig(dir);
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
        'builds:',
        '  debian:',
        '    description: ./base',
        '    target-dir: ./out/debian',
        `    kiwi-args: [--config, ${fast}]`,
        'stashes:',
        '  debian-base:',
        '    root: debian',
        '    tag: bookworm',
        `    push: {registry: "${registry.host}", tls-verify: false}`,
        'stacks:',
        '  vm:',
        '    images: [debian-base]',
        `    from-registry: "${registry.host}"`,
        '    description: ./derived',
        '    target-dir: ./out/vm',
        `    kiwi-args: [--config, ${fast}]`,
        '',
      ].join('\n'),
    );

    const first = await run();
    const failed = first.filter((e) => e.type === 'step-failed');
    expect(outcome(first), JSON.stringify(failed)).toEqual({
      debian: 'step-succeeded',
      'debian-base': 'step-succeeded',
      vm: 'step-succeeded',
    });
    const pulled = await store.podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(pulled.split('\n')).toContain(`${registry.host}/debian-base:bookworm`);
    const archives = (await readdir(join(dir, 'out/vm'))).filter((name) => name.endsWith('.tar.xz'));
    expect(archives).toHaveLength(1);
    const listed = await runProcess({
      argv: ['tar', '-tJf', join(dir, 'out/vm', archives[0] as string)],
      cwd: dir,
    });
    expect(listed.ok).toBe(true);
    const entries = listed.ok ? listed.value.stdout.split('\n').map((e) => e.replace(/^\.\//, '')) : [];
    expect(entries).toContain('usr/bin/less');
    expect(entries).toContain('etc/debian_version');

    const before = await podmanState();
    const second = await run();
    const reasons = second.filter((e) => e.type === 'step-started');
    expect(outcome(second), JSON.stringify(reasons)).toEqual({
      debian: 'step-fresh',
      'debian-base': 'step-fresh',
      vm: 'step-fresh',
    });
    expect(await podmanState()).toBe(before);
  }, 1_500_000);
});
