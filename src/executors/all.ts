/**
 * Every executor kiwibox ships, wired by step kind.
 */
import { boxStepExecutor } from '../boxes/box-step.js';
import { sshfsBackend } from '../sftp/sshfs-share.js';
import { boxedBuildExecutor } from './box/boxed-build.js';
import { registerSharingBackend } from './box/sharing.js';
import { stackExecutor } from './podman/stack.js';
import { stashExecutor } from './podman/stash.js';
import { type ExecutorLookup, type ExecutorSet, executorLookup } from './registry.js';

// sshfs sharing is served by kiwibox's own SFTP server (src/sftp), plugged into the box executor.
registerSharingBackend(sshfsBackend);

/** The standard executors; `overrides` swaps some (the compatibility commands' switches). */
export function allExecutors(overrides: ExecutorSet = {}): ExecutorLookup {
  return executorLookup({
    box: boxStepExecutor,
    boxedBuild: boxedBuildExecutor,
    stash: stashExecutor,
    stack: stackExecutor,
    ...overrides,
  });
}
