/**
 * Every executor kiwibox ships, wired by step kind. Executor modules are imported only when the
 * project has steps of their kind: a pipeline of tasks does not pay for QEMU, podman or ssh2.
 */
import type { ExecutorLookup, StepExecutor } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import { hostBuildExecutor } from './kiwi/host-build.js';
import type { SlurmCacheLink } from './slurm/node-data.js';
import { taskExecutor } from './task.js';

/** The executors loaded on demand (builds on the host and tasks are always there). */
export interface ExecutorSet {
  readonly box?: StepExecutor<Extract<Step, { kind: 'box' }>>;
  readonly boxedBuild?: StepExecutor<Extract<Step, { kind: 'build' }>>;
  readonly stash?: StepExecutor<Extract<Step, { kind: 'stash' }>>;
  readonly stack?: StepExecutor<Extract<Step, { kind: 'stack' }>>;
  readonly bootTest?: StepExecutor<Extract<Step, { kind: 'boot-test' }>>;
}

/** Which executor runs a step. Builds run on the host unless they name a box. */
export function executorLookup(set: ExecutorSet): ExecutorLookup {
  return (step) => {
    switch (step.kind) {
      case 'task':
        return taskExecutor as StepExecutor;
      case 'build':
        return (step.box === undefined ? hostBuildExecutor : set.boxedBuild) as StepExecutor | undefined;
      case 'box':
        return set.box as StepExecutor | undefined;
      case 'stash':
        return set.stash as StepExecutor | undefined;
      case 'stack':
        return set.stack as StepExecutor | undefined;
      case 'boot-test':
        return set.bootTest as StepExecutor | undefined;
    }
  };
}

type Kind = keyof ExecutorSet;

const loaders: { readonly [K in Kind]: () => Promise<NonNullable<ExecutorSet[K]>> } = {
  box: async () => (await import('./box-step.js')).boxStepExecutor,
  boxedBuild: async () => (await import('./qemu/boxed-build.js')).boxedBuildExecutor,
  stash: async () => (await import('./podman/stash.js')).stashExecutor,
  stack: async () => (await import('./podman/stack.js')).stackExecutor,
  bootTest: async () => (await import('./boot/boot-test.js')).bootTestExecutor,
};

function kindsOf(project: Project): Set<Kind> {
  const kinds = new Set<Kind>();
  for (const step of project.steps.values()) {
    if (step.kind === 'build') {
      if (step.box !== undefined) kinds.add('boxedBuild');
    } else if (step.kind === 'boot-test') kinds.add('bootTest');
    else if (step.kind !== 'task') kinds.add(step.kind);
  }
  return kinds;
}

/**
 * The executors `project` needs; `overrides` swaps some (the compatibility commands' switches).
 * `slurmCache`: the team cache Slurm steps use without a shared filesystem (cache/slurm-link.ts).
 */
export async function executorsFor(
  project: Project,
  overrides: ExecutorSet = {},
  options: { readonly slurmCache?: SlurmCacheLink } = {},
): Promise<ExecutorLookup> {
  const set: { -readonly [K in Kind]?: ExecutorSet[K] } = {};
  const load = async <K extends Kind>(kind: K) => {
    (set as Record<K, ExecutorSet[K]>)[kind] = overrides[kind] ?? (await loaders[kind]());
  };
  await Promise.all([...kindsOf(project)].map((kind) => load(kind)));
  const local = executorLookup({ ...set, ...overrides });
  if (!project.slurm) return local;
  // Steps `slurm:` selects run as Slurm jobs; the node runs the same local executor (slurm/).
  return (await import('./slurm/lookup.js')).slurmLookup(project.slurm, local, options.slurmCache);
}
