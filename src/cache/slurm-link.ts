/**
 * The team cache as Slurm steps without a shared filesystem use it on the submitting side
 * (executors/slurm/no-shared-fs.ts): a node can only get a dependency's outputs from the cache, so
 * they must be there before the job starts; and the step's outputs come back only as the entry the
 * node uploaded, restored and verified like any other (signature, step record, every digest).
 * Unlike TeamCache.restore/upload, every problem here fails the step: it cannot run, or its result
 * cannot be trusted.
 */
import type { StepOutputs } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import { type Failure, fail, failWith, ok, type Result } from '../core/result.js';
import type { SlurmCacheLink } from '../executors/slurm/node-data.js';
import { readRecord } from '../state/record.js';
import { notCacheable } from './entry.js';
import { lookupEntry } from './lookup.js';
import { restoreEntry } from './restore.js';
import { type TeamCache, WRITER } from './team-cache.js';
import { uploadEntry } from './upload.js';

const messages = (failures: readonly Failure[]) => failures.map((f) => f.message).join('; ');

/**
 * The store asked directly, every time: TeamCache.lookup stops asking after one failure in the run
 * (the cache is optional there), but here a step cannot run, or its result come back, without it.
 */
function lookupRequired(options: {
  readonly cache: TeamCache;
  readonly key: string;
  readonly signal: AbortSignal;
}) {
  const { cache, key, signal } = options;
  return lookupEntry({ store: cache.store, config: cache.config, key, signal });
}

async function publishOne(options: {
  readonly cache: TeamCache;
  /** Uploads under way in this run, by dependency and key: steps sharing one wait for the same. */
  readonly uploads: Map<string, Promise<Result<unknown>>>;
  readonly step: Step;
  readonly dep: Step;
  readonly project: Project;
  readonly signal: AbortSignal;
}): Promise<Result<string>> {
  const { cache, dep, project, signal } = options;
  const missing = (why: string) =>
    failWith({
      step: options.step.id,
      reason: 'slurm-upstream-not-cached',
      message: `'${options.step.id}' cannot go to a node without a shared filesystem: its dependency '${dep.id}' ${why}`,
    });
  const record = readRecord(project.stateDir, dep.id);
  if (!record) return missing('has no record here');
  // A box lives in a box store, not in the cache: the node resolves it itself (cli/commands/slurm-node.ts).
  if (dep.kind === 'box') return ok(record.hash);
  const why = notCacheable(dep, record);
  if (why) return missing(`cannot go through the team cache (${why})`);
  const slot = `${dep.id}\0${record.hash}`;
  const pending = options.uploads.get(slot);
  if (pending) {
    // Another step is uploading this dependency (uploadEntry stages in one directory per step).
    const uploaded = await pending;
    return uploaded.ok ? ok(record.hash) : missing(`could not be uploaded: ${messages(uploaded.error)}`);
  }
  const found = await lookupRequired({ cache, key: record.hash, signal });
  if (found.hit) return ok(record.hash);
  if (found.storeDown) return missing(`cannot be looked up in the team cache: ${found.reason}`);
  if (!cache.writes) {
    return missing(
      `is not in the team cache (${found.reason}) and this run may not write it (cache mode read-only); upload it first or send '${dep.id}' to Slurm too`,
    );
  }
  const again = options.uploads.get(slot);
  const upload =
    again ??
    uploadEntry({
      store: cache.store,
      config: cache.config,
      step: dep,
      project,
      record,
      writer: WRITER,
      signal,
    });
  options.uploads.set(slot, upload);
  const uploaded = await upload;
  // A failed upload may be tried again by a later step; a done one answers later steps at once.
  if (!uploaded.ok && options.uploads.get(slot) === upload) options.uploads.delete(slot);
  return uploaded.ok ? ok(record.hash) : missing(`could not be uploaded: ${messages(uploaded.error)}`);
}

/** The cache settings this run resolved (flags included), as the variables the node reads. */
function nodeEnv(cache: TeamCache): Record<string, string> {
  const { config } = cache;
  return {
    KIWIBOX_CACHE: config.store,
    KIWIBOX_CACHE_MODE: config.mode,
    ...(config.writeNamespace ? { KIWIBOX_CACHE_NAMESPACE: config.writeNamespace } : {}),
    ...(config.signingKeyFile ? { KIWIBOX_CACHE_KEY_FILE: config.signingKeyFile } : {}),
  };
}

export function slurmCacheLink(cache: TeamCache): SlurmCacheLink {
  const uploads = new Map<string, Promise<Result<unknown>>>();
  return {
    nodeEnv: nodeEnv(cache),
    async publishUpstream({ step, project, signal }) {
      const why = notCacheable(step);
      if (why) {
        return failWith({
          step: step.id,
          reason: 'slurm-upstream-not-cached',
          message: `'${step.id}' cannot go to a node without a shared filesystem: its result cannot come back through the team cache (${why})`,
        });
      }
      const keys: Record<string, string> = {};
      for (const id of step.deps) {
        const dep = project.steps.get(id);
        if (!dep) continue;
        const key = await publishOne({ cache, uploads, step, dep, project, signal });
        if (!key.ok) return key;
        keys[id] = key.value;
      }
      // The node signs and uploads the result with this run's settings, which may not write.
      if (!cache.writes) {
        return failWith({
          step: step.id,
          reason: 'slurm-node-cache',
          message: `'${step.id}' cannot go to a node without a shared filesystem: the node uploads its result to the team cache, and this run may not write it (cache mode read-only: give a signing key)`,
        });
      }
      return ok(keys);
    },
    async restoreResult({ step, project, key, signal }): Promise<Result<StepOutputs>> {
      const lost = (why: string) =>
        fail([
          {
            step: step.id,
            reason: 'slurm-result-not-in-cache' as const,
            message: `the Slurm job of '${step.id}' completed, but its result cannot be restored from the team cache: ${why}`,
          },
        ]);
      const found = await lookupRequired({ cache, key, signal });
      if (!found.hit) return lost(found.reason);
      const restored = await restoreEntry({
        store: cache.store,
        entry: found.entry,
        namespace: found.namespace,
        step,
        project,
        signal,
        emit: () => undefined,
        skipLog: true,
      });
      if (!restored.ok) return lost(messages(restored.error));
      // The node's entry is the step's: the upload after the step succeeds would only repeat it.
      cache.verified(key);
      return ok(restored.value.outputs);
    },
  };
}
