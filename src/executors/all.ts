/**
 * Every executor kiwibox ships, wired by step kind.
 */
import { boxStepExecutor } from '../boxes/box-step.js';
import { boxedBuildExecutor } from './box/boxed-build.js';
import { stackExecutor } from './podman/stack.js';
import { stashExecutor } from './podman/stash.js';
import { type ExecutorLookup, executorLookup } from './registry.js';

export function allExecutors(): ExecutorLookup {
  return executorLookup({ box: boxStepExecutor, boxedBuild: boxedBuildExecutor, stash: stashExecutor, stack: stackExecutor });
}
