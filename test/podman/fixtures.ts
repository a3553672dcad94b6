/**
 * Test fixtures for the podman executors: a store and registry per test file, steps, a project
 * around them, contexts, small trees, and running a kiwibox.yaml through the scheduler.
 */
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { fingerprintServices } from '../../src/cli/session.js';
import { loadProject } from '../../src/config/load.js';
import type { KiwiboxEvent } from '../../src/core/events.js';
import type { ExecutorContext, StepOutputs } from '../../src/core/executor.js';
import type { PodmanSettings, Project, StackStep, StashStep, Step } from '../../src/core/model.js';
import { executorLookup } from '../../src/executors/index.js';
import { stackExecutor } from '../../src/executors/podman/stack.js';
import { stashExecutor } from '../../src/executors/podman/stash.js';
import { buildGraph, topologicalOrder } from '../../src/graph/graph.js';
import { runProcess } from '../../src/process/run.js';
import { runSteps } from '../../src/scheduler/run.js';
import { createTestStore, type TestStore } from '../support/podman-store.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

/** What every podman test file sets up: filled in by its beforeAll, so read the fields inside tests. */
export interface PodmanFixture {
  readonly registry: TestRegistry;
  readonly store: TestStore;
  /** A scratch dir for the file's trees, targets and projects; removed at the end. */
  readonly work: string;
  /** `fastKiwiConfig(work)`. */
  readonly fastConfig: string;
}

/**
 * Registers the hooks of a podman test file: a registry, an isolated store (which trusts the plain
 * HTTP registry unless `storeTrustsRegistry` is false), a scratch dir named `prefix…` with a fast
 * kiwi config; after each test the store must be clean (no mounts, no containers); at the end
 * contexts, store, registry and scratch dir are removed.
 */
export function withPodmanFixture(options: {
  readonly prefix: string;
  readonly storeTrustsRegistry?: boolean;
}): PodmanFixture {
  const fixture = {} as { -readonly [K in keyof PodmanFixture]: PodmanFixture[K] };
  beforeAll(async () => {
    fixture.registry = await startRegistry();
    fixture.store = await createTestStore(
      options.storeTrustsRegistry === false ? {} : { [fixture.registry.host]: { tlsVerify: false } },
    );
    fixture.work = await mkdtemp(join(tmpdir(), options.prefix));
    fixture.fastConfig = await fastKiwiConfig(fixture.work);
  });
  afterAll(async () => {
    await disposeContexts();
    await fixture.store?.dispose();
    await fixture.registry?.stop();
    if (fixture.work) await rm(fixture.work, { recursive: true, force: true });
  });
  afterEach(async () => {
    expect(await fixture.store.leftovers()).toEqual([]);
  });
  return fixture;
}

/** The `podman:` section of a kiwibox.yaml for `settings`, trusting the plain-HTTP `registry`. */
export function podmanYaml(settings: PodmanSettings, registry: string): string[] {
  return [
    'podman:',
    `  root: ${settings.root}`,
    `  runroot: ${settings.runroot}`,
    `  tmpdir: ${settings.tmpdir}`,
    '  storage-driver: overlay',
    `  registries: {"${registry}": {tls-verify: false}}`,
  ];
}

/** Loads `dir`/kiwibox.yaml and runs all its steps with the podman executors; returns the events. */
export async function runProjectFile(dir: string): Promise<KiwiboxEvent[]> {
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

/** Step id → how it ended (`step-succeeded`, `step-fresh`, `step-failed`). */
export function outcome(events: readonly KiwiboxEvent[]): Record<string, string> {
  return Object.fromEntries(
    events
      .filter((e) => e.type === 'step-succeeded' || e.type === 'step-fresh' || e.type === 'step-failed')
      .map((e) => [(e as { step: string }).step, e.type]),
  );
}

/** Image ids with creation times, and the overlay layer directories: what a podman write would change. */
export async function podmanState(store: TestStore): Promise<string> {
  const images = await store.podman(['images', '-a', '--no-trunc', '--format', '{{.ID}} {{.CreatedAt}}']);
  const layers = (await readdir(join(store.settings.root as string, 'overlay'))).sort().join(' ');
  return `${images}\n${layers}`;
}

/** The entries of a `.tar.xz` image, without the leading `./`. */
export async function tarList(file: string): Promise<string[]> {
  const listed = await runProcess({ argv: ['tar', '-tJf', file], cwd: dirname(file) });
  if (!listed.ok) throw new Error(`tar -t ${file} failed`);
  return listed.value.stdout.split('\n').map((entry) => entry.replace(/^\.\//, ''));
}

const here = { file: '/dev/null', offset: 0, length: 0 };

export function stashStep(options: Partial<StashStep> & Pick<StashStep, 'id' | 'root' | 'name'>): StashStep {
  return { kind: 'stash', deps: [], location: here, fields: {}, tag: 'latest', ...options };
}

export function stackStep(
  options: Partial<StackStep> & Pick<StackStep, 'id' | 'images' | 'targetDir'>,
): StackStep {
  return {
    kind: 'stack',
    deps: [],
    location: here,
    fields: {},
    profiles: [],
    kiwiArgs: [],
    keepDirlinks: false,
    ...options,
  };
}

export function projectOf(dir: string, podman: PodmanSettings, steps: readonly Step[]): Project {
  return {
    file: join(dir, 'kiwibox.yaml'),
    dir,
    stateDir: join(dir, '.kiwibox'),
    podman,
    steps: new Map(steps.map((step) => [step.id, step])),
  };
}

const scratch: string[] = [];

/** Removes the scratch dirs of every context `contextFor` made (call in afterAll). */
export async function disposeContexts(): Promise<void> {
  for (const dir of scratch.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** A context whose output lines are collected in `lines`. */
export async function contextFor(
  project: Project,
  options: { signal?: AbortSignal; upstream?: ReadonlyMap<string, StepOutputs> } = {},
): Promise<ExecutorContext & { lines: string[]; dispose(): Promise<void> }> {
  const tmp = await mkdtemp(join(tmpdir(), 'kiwibox-step-'));
  scratch.push(tmp);
  const lines: string[] = [];
  return {
    project,
    signal: options.signal ?? new AbortController().signal,
    output: (line) => lines.push(line),
    upstream: options.upstream ?? new Map(),
    tmpDir: tmp,
    lines,
    dispose: () => rm(tmp, { recursive: true, force: true }),
  };
}

/** A usr-merged busybox tree (`/bin -> usr/bin`, as Debian), about 2 MB, plus `files`. */
export async function busyboxRoot(
  dir: string,
  files: Readonly<Record<string, string>> = {},
): Promise<string> {
  for (const sub of ['usr/bin', 'etc', 'tmp', 'dev', 'proc', 'sys', 'root'])
    await mkdir(join(dir, sub), { recursive: true });
  await symlink('usr/bin', join(dir, 'bin'));
  await copyFile('/bin/busybox', join(dir, 'usr/bin/busybox'));
  await chmod(join(dir, 'usr/bin/busybox'), 0o755);
  await symlink('busybox', join(dir, 'usr/bin/sh'));
  await writeFile(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(dir, 'dev/should-not-be-stashed'), 'x');
  await writeTree(dir, files);
  return dir;
}

/** A description kiwi-ng `system create` can build from a busybox tree (tbz, nothing to install). */
export function busyboxDescription(name: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<image schemaversion="7.5" name="${name}">
  <description type="system">
    <author>kiwibox test</author>
    <contact>test@localhost</contact>
    <specification>busybox tree</specification>
  </description>
  <preferences>
    <version>1.0.0</version>
    <packagemanager>apt</packagemanager>
    <type image="tbz"/>
  </preferences>
  <repository type="apt-deb" distribution="bookworm" components="main" repository_gpgcheck="false">
    <source path="file:///nonexistent"/>
  </repository>
  <packages type="image"/>
</image>
`;
}

/**
 * A busybox root kiwi-ng can `system create` from: `/image/config.xml`, plus the empty dpkg state and
 * doc dir kiwi's package listing reads.
 */
export async function kiwiBusyboxRoot(
  dir: string,
  name: string,
  files: Readonly<Record<string, string>> = {},
) {
  await busyboxRoot(dir, {
    'image/config.xml': busyboxDescription(name),
    'var/lib/dpkg/status': '',
    'usr/share/doc/.keep': '',
    ...files,
  });
  return dir;
}

/** kiwi-ng runtime config for tests: xz -0 instead of the slow default. Returns its path. */
export async function fastKiwiConfig(dir: string): Promise<string> {
  const file = join(dir, 'kiwi-fast.yml');
  await writeFile(file, "xz:\n  - options: '-0 --threads=0'\n");
  return file;
}

/** Writes `files` (path relative to `dir` → content) below `dir`. */
export async function writeTree(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}
