/**
 * The node's side of a step's dependencies without a shared filesystem (slurm-node.ts): each one's
 * outputs come from its team-cache entry by the key the submitter sent, restored over whatever the
 * node's working copy has; a box is resolved into the node's own box store.
 */
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { restoreEntry } from '../../cache/restore.js';
import type { TeamCache } from '../../cache/team-cache.js';
import type { ExecutorLookup, StepExecutor, StepOutputs } from '../../core/executor.js';
import type { Project, Step } from '../../core/model.js';
import { type Failure, failWith, ok, type Result } from '../../core/result.js';
import type { NodeRequest } from '../../executors/slurm/node-data.js';
import { makeScratchDir } from '../../executors/slurm/scratch.js';
import { type FingerprintServices, upstreamToken } from '../../fingerprint/decide.js';
import { acquireStepLock } from '../../state/lock.js';
import type { Lock } from '../../state/lock-file.js';

export const messages = (failures: readonly Failure[]) => failures.map((f) => f.message).join('; ');

/**
 * A dependency's lock on the node, waited for: jobs of one run may share the node's working copy
 * and restore the same dependency at once. Its owner is named once, in case the wait is long.
 */
export async function lockWaiting(project: Project, id: string, signal: AbortSignal): Promise<Result<Lock>> {
  for (let said = false; ; said = true) {
    const attempt = await acquireStepLock(project.stateDir, id);
    if (!attempt.ok) return attempt;
    if ('held' in attempt.value) return ok(attempt.value.held);
    if (!said) {
      process.stderr.write(
        `kiwibox: waiting for '${id}' in ${project.dir}: kiwibox pid ${attempt.value.owner} holds its lock\n`,
      );
    }
    if (signal.aborted) return failWith({ step: id, reason: 'cancelled', message: `'${id}' was cancelled` });
    await sleep(200);
  }
}

/**
 * The step's own lock, taken once: nothing else on this copy should be running the step. The usual
 * owner is the submitting kiwibox itself, when the node's copy is its project (no node-project-dir,
 * and the job ran on the submitting host or the path is shared): waiting would last the time limit.
 */
export async function lockOwn(project: Project, id: string): Promise<Result<Lock>> {
  const attempt = await acquireStepLock(project.stateDir, id);
  if (!attempt.ok) return attempt;
  if ('held' in attempt.value) return ok(attempt.value.held);
  return failWith({
    step: id,
    reason: 'locked',
    message: `another kiwibox (pid ${attempt.value.owner}) is running '${id}' in the node's working copy ${project.dir}; if that is the submitting kiwibox, node-project-dir is its own project (set slurm.node-project-dir to a copy of the project on the node)`,
  });
}

export interface Node {
  readonly request: NodeRequest;
  readonly project: Project;
  readonly step: Step;
  readonly executor: StepExecutor;
  readonly lookup: ExecutorLookup;
  readonly cache: TeamCache;
  readonly services: FingerprintServices;
  readonly signal: AbortSignal;
}

export const cacheFailure = (node: Pick<Node, 'request'>, message: string) =>
  failWith({ step: node.request.step, reason: 'slurm-node-cache', message });

/**
 * A box is not in the team cache: the node resolves it into its own box store (its box step, run
 * here). Its token holds the box's digest and paths, so a node whose box differs gives the step
 * another fingerprint and is refused.
 */
async function resolveBox(
  node: Node,
  box: Step,
  key: string,
): Promise<Result<{ token: string; outputs: StepOutputs }>> {
  const executor = node.lookup(box);
  if (!executor)
    return failWith({ step: box.id, reason: 'no-executor', message: `no executor for box '${box.id}'` });
  const tmp = await makeScratchDir();
  try {
    const ran = await executor.run(box, {
      project: node.project,
      signal: node.signal,
      tmpDir: tmp,
      upstream: new Map(),
      output: (line, stream = 'stdout') =>
        (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`),
    });
    if (!ran.ok) return ran;
    const token = upstreamToken({ hash: key, outputs: { files: [], data: ran.value.data }, finishedAt: '' });
    return ok({ token, outputs: ran.value });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Each dependency's outputs from its entry, restored over whatever the node's copy has. */
export async function restoreUpstream(
  node: Node,
): Promise<Result<{ tokens: Map<string, string>; outputs: Map<string, StepOutputs> }>> {
  const { project, cache, signal } = node;
  const tokens = new Map<string, string>();
  const outputs = new Map<string, StepOutputs>();
  for (const id of node.step.deps) {
    const dep = project.steps.get(id);
    const key = node.request.upstream[id];
    if (!dep || key === undefined) return cacheFailure(node, `the request names no cache entry for '${id}'`);
    if (dep.kind === 'box') {
      const box = await resolveBox(node, dep, key);
      if (!box.ok) return box;
      tokens.set(id, box.value.token);
      outputs.set(id, box.value.outputs);
      continue;
    }
    const found = await cache.lookup({ step: dep, key, signal });
    if (!found.hit)
      return cacheFailure(node, `the entry of dependency '${id}' is not usable: ${found.reason}`);
    const lock = await lockWaiting(project, id, signal);
    if (!lock.ok) return lock;
    try {
      const restored = await restoreEntry({
        store: cache.store,
        entry: found.entry,
        namespace: found.namespace,
        step: dep,
        project,
        signal,
        emit: () => undefined,
        skipLog: true,
        hashes: node.services.cache,
      });
      if (!restored.ok)
        return cacheFailure(node, `restoring dependency '${id}': ${messages(restored.error)}`);
      const { record } = restored.value;
      const files = record.outputs.files.map((f) => ({ ...f, mtimeMs: 0 }));
      tokens.set(id, upstreamToken({ ...record, outputs: { files, data: record.outputs.data } }));
      outputs.set(id, restored.value.outputs);
    } finally {
      await lock.value.release();
    }
  }
  return ok({ tokens, outputs });
}
