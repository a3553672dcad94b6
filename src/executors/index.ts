/**
 * Every executor kiwibox ships, wired by step kind. Executor modules are imported only when the
 * project has steps of their kind: a pipeline of tasks does not pay for QEMU, podman or ssh2.
 */
import type { Project } from '../core/model.js';
import { type ExecutorLookup, type ExecutorSet, executorLookup } from './registry.js';

type Kind = keyof ExecutorSet;

const loaders: { readonly [K in Kind]: () => Promise<NonNullable<ExecutorSet[K]>> } = {
  box: async () => (await import('./box-step.js')).boxStepExecutor,
  boxedBuild: async () => {
    const [{ boxedBuildExecutor }, { registerSharingBackend }, { sshfsBackend }] = await Promise.all([
      import('./qemu/boxed-build.js'),
      import('./qemu/sharing/index.js'),
      import('./qemu/sharing/sshfs.js'),
    ]);
    // sshfs sharing is served by kiwibox's own SFTP server (src/sftp), plugged into the box executor.
    registerSharingBackend(sshfsBackend);
    return boxedBuildExecutor;
  },
  stash: async () => (await import('./podman/stash.js')).stashExecutor,
  stack: async () => (await import('./podman/stack.js')).stackExecutor,
};

function kindsOf(project: Project): Set<Kind> {
  const kinds = new Set<Kind>();
  for (const step of project.steps.values()) {
    if (step.kind === 'build') {
      if (step.box !== undefined) kinds.add('boxedBuild');
    } else if (step.kind !== 'task') kinds.add(step.kind);
  }
  return kinds;
}

/** The executors `project` needs; `overrides` swaps some (the compatibility commands' switches). */
export async function executorsFor(project: Project, overrides: ExecutorSet = {}): Promise<ExecutorLookup> {
  const set: { -readonly [K in Kind]?: ExecutorSet[K] } = {};
  const load = async <K extends Kind>(kind: K) => {
    (set as Record<K, ExecutorSet[K]>)[kind] = overrides[kind] ?? (await loaders[kind]());
  };
  await Promise.all([...kindsOf(project)].map((kind) => load(kind)));
  return executorLookup({ ...set, ...overrides });
}
