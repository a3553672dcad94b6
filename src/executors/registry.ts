/**
 * Which executor runs a step. Builds run on the host unless they name a box.
 */

import type { StepExecutor } from '../core/executor.js';
import type { Step } from '../core/model.js';
import { hostBuildExecutor } from './kiwi/host-build.js';
import { taskExecutor } from './task.js';

/** Executors that later parts (boxes, stashes, stacks) register. */
export interface ExecutorSet {
  readonly box?: StepExecutor<Extract<Step, { kind: 'box' }>>;
  readonly boxedBuild?: StepExecutor<Extract<Step, { kind: 'build' }>>;
  readonly stash?: StepExecutor<Extract<Step, { kind: 'stash' }>>;
  readonly stack?: StepExecutor<Extract<Step, { kind: 'stack' }>>;
}

export type ExecutorLookup = (step: Step) => StepExecutor | undefined;

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
    }
  };
}
