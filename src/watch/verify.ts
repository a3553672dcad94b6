/**
 * The watcher's own full check, taken while it is idle: the plan `kiwibox plan` would make, plus
 * what the answer to a later ask stands on (which file events it had seen, the stat of every
 * step's record and stamp, the environment). serve.ts answers "fresh" only from such a check with
 * nothing moved since. Anything this cannot vouch for is a reason not to serve, in words.
 */
import { lstatSync } from 'node:fs';
import { loadProject } from '../config/load.js';
import type { ExecutorLookup } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import type { FingerprintServices } from '../fingerprint/decide.js';
import { InputMemo, type StatedInput } from '../fingerprint/inputs.js';
import type { StepGraph } from '../graph/graph.js';
import { planSteps } from '../scheduler/plan.js';
import { RACY_MS, trustedFileSystem } from '../state/dir-cache.js';
import { recordFile, stampFile } from '../state/layout.js';
import type { LastRun } from '../state/record.js';
import type { InputMap } from './input-map.js';
import { comparableEnv } from './protocol.js';

/** What the watcher watches and knows, as verify needs it. */
export interface WatchedProject {
  readonly project: Project;
  readonly graph: StepGraph;
  readonly selection: readonly string[];
  readonly inputs: InputMap;
  readonly lookup: ExecutorLookup;
}

/** dev, ino, size, mtime, ctime of a state file; null: missing. */
type FileKey = readonly number[] | null;

export interface Verified {
  /** The file-event count (Watch.generation) when the check started. */
  readonly generation: number;
  readonly watched: WatchedProject;
  readonly env: Readonly<Record<string, string>>;
  /** Record and stamp of each selected step as the check found them. */
  readonly state: ReadonlyMap<string, readonly [FileKey, FileKey]>;
  /** The last run each step's freshness stands on (its outputs are checked again per ask). */
  readonly runs: ReadonlyMap<string, LastRun>;
}

export type Verification = { readonly ok: Verified } | { readonly no: string; readonly retryMs?: number };

const keyOf = (file: string): FileKey => {
  const st = lstatSync(file, { throwIfNoEntry: false });
  return st ? [st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs] : null;
};

export function stateKeys(project: Project, ids: Iterable<string>): Map<string, readonly [FileKey, FileKey]> {
  const keys = new Map<string, readonly [FileKey, FileKey]>();
  for (const id of ids)
    keys.set(id, [keyOf(recordFile(project.stateDir, id)), keyOf(stampFile(project.stateDir, id))]);
  return keys;
}

export const sameKeys = (a: readonly [FileKey, FileKey] | undefined, b: readonly [FileKey, FileKey]) =>
  a !== undefined && JSON.stringify(a) === JSON.stringify(b);

/** Every statted input of the plan, whatever InputMemo keeps for sharing. */
class CapturingMemo extends InputMemo {
  readonly captured: Promise<StatedInput[]>[] = [];
  override set(key: string, inputs: Promise<StatedInput[]>): void {
    this.captured.push(inputs);
    super.set(key, inputs);
  }
}

/** Why this project's freshness depends on more than its files, records and environment. */
function projectProblem(watched: WatchedProject, env: Readonly<Record<string, string>>): string | undefined {
  const { project, lookup } = watched;
  // Only a task-only project is analysed from kiwibox.yaml and the environment alone; other kinds
  // re-check description dirs and box files on every load, which the watch does not all follow.
  const other = [...project.steps.values()].find((s) => s.kind !== 'task');
  if (other) return `step '${other.id}' is a ${other.kind}: only task-only projects are answered`;
  if (project.slurm) return 'the project has a slurm: section (a run checks the controller)';
  if (project.cache || Object.keys(env).some((k) => k.startsWith('KIWIBOX_CACHE')))
    return 'a team cache is configured (a run opens it)';
  for (const id of watched.selection) {
    const step = project.steps.get(id) as Step;
    const executor = lookup(step);
    if (!executor || executor.extra || executor.stillValid || executor.tools(step, project).length)
      return `step '${id}' depends on tools or facts outside its files`;
  }
  return undefined;
}

/** The latest mtime or ctime among the keys. */
function youngest(keys: ReadonlyMap<string, readonly [FileKey, FileKey]>): number {
  let latest = 0;
  for (const pair of keys.values())
    for (const k of pair) if (k) latest = Math.max(latest, k[3] as number, k[4] as number);
  return latest;
}

export async function verify(options: {
  readonly watched: WatchedProject;
  readonly targets: readonly string[];
  readonly services: FingerprintServices;
  /** The watcher's file-event count now. */
  readonly generation: () => number;
  readonly signal: AbortSignal;
}): Promise<Verification> {
  const { watched } = options;
  const { project, selection } = watched;
  const generation = options.generation();
  const started = Date.now();
  const env = comparableEnv(process.env);
  const problem = projectProblem(watched, env);
  if (problem) return { no: problem };
  // The project as a fresh load sees it now must be the one the file watch was built from.
  const loaded = await loadProject({ file: project.file, cache: true, readOnly: true });
  if (!loaded.ok) return { no: 'kiwibox.yaml does not load' };
  const steps = (p: Project) => JSON.stringify([...p.steps.values()]);
  if (steps(loaded.value.project) !== steps(project))
    return { no: 'the watch has not caught up with kiwibox.yaml' };
  for (const root of watched.inputs.roots) {
    if (!lstatSync(root, { throwIfNoEntry: false }))
      return { no: `${root} does not exist (its creation may go unseen)` };
    if (!trustedFileSystem(root))
      return { no: `${root} is on a file system whose changes inotify may not see` };
  }
  const before = stateKeys(project, selection);
  // A record rewritten later within the same timestamp tick could keep its stat: only records older
  // than any tick count (as for directory listings, state/dir-cache.ts). Checked before the plan,
  // which a young record would only waste.
  const young = youngest(before) + RACY_MS - started;
  if (young > 0) return { no: 'records too young to vouch for', retryMs: young + 50 };
  const keys = selection.map((id) => {
    const step = project.steps.get(id) as Step;
    return InputMemo.keyOf(watched.lookup(step)?.inputs(step, project));
  });
  const memo = new CapturingMemo(keys);
  const planned = await planSteps({
    project,
    order: selection,
    lookup: watched.lookup,
    services: { ...options.services, inputs: memo },
    force: false,
    signal: options.signal,
  });
  const stale = planned.find((p) => p.action !== 'fresh');
  if (stale) return { no: `step '${stale.step}' is not fresh` };
  for (const inputs of await Promise.all(memo.captured)) {
    for (const { path, st } of inputs) {
      if (!st) return { no: `input ${path} is missing (its creation may go unseen)` };
      // A change made through another link in an unwatched directory sends no event here.
      if (st.isFile() && st.nlink > 1) return { no: `input ${path} has other hard links` };
      if (watched.inputs.isIgnored(path)) return { no: `input ${path} is not watched (an output or state)` };
    }
  }
  const after = stateKeys(project, selection);
  for (const [id, key] of before)
    if (!sameKeys(after.get(id), key)) return { no: `step '${id}' was recorded meanwhile`, retryMs: 0 };
  if (options.generation() !== generation) return { no: 'files changed during the check', retryMs: 0 };
  const runs = new Map<string, LastRun>();
  for (const p of planned) if (p.record) runs.set(p.step, p.record);
  return { ok: { generation, watched, env, state: after, runs } };
}
