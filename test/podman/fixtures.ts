/** Test fixtures for the podman executors: steps, a project around them, contexts, small trees. */
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodmanSettings, Project, StackStep, StashStep, Step } from '../../src/config/model.js';
import type { ExecutorContext, StepOutputs } from '../../src/executors/types.js';

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
