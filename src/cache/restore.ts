/**
 * Restoring a step from a verified entry: every blob is downloaded into the step's staging dir and
 * checked against its digest (the store does), the record's outputs are checked against the layers,
 * and only then do files move into place (rename; the record is written by the caller afterwards,
 * so a crash in between leaves the step stale, never wrongly fresh). A stash's image is loaded into
 * podman and must come back with the recorded image id.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Emit } from '../core/events.js';
import type { StepOutputs } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';
import { PodmanSession } from '../executors/podman/podman.js';
import type { HashCache } from '../state/hash-cache.js';
import { cacheStagingDir, stepLogFile } from '../state/layout.js';
import { checkLayers, type EntryRecord, IMAGE_TYPE, LOG_TYPE, TITLE } from './entry.js';
import type { BlobRef, CacheEntry, CacheStore } from './store.js';

export interface Restored {
  readonly outputs: StepOutputs;
  /** What the writer's run took. */
  readonly savedMs: number;
  readonly bytes: number;
  /** The entry's step record (its hash and outputs give the step's upstream token). */
  readonly record: EntryRecord;
}

const PARALLEL_FETCHES = 4;

const miss = (message: string) => failWith({ reason: 'cache-digest-mismatch', message });

function insideProject(projectDir: string, path: string): string | undefined {
  const full = resolve(projectDir, path);
  return full.startsWith(projectDir + sep) ? full : undefined;
}

async function loadImage(options: {
  project: Project;
  step: Step;
  archive: string;
  data: Readonly<Record<string, string>>;
  signal: AbortSignal;
}): Promise<Result<void>> {
  const { data } = options;
  const session = new PodmanSession({
    settings: options.project.podman,
    cwd: options.project.dir,
    signal: options.signal,
    step: options.step.id,
  });
  const loaded = await session.exec(['load', '--quiet', '--input', options.archive]);
  if (!loaded.ok) return loaded;
  if (!data.imageId || !data.image) return miss('the stash entry names no image');
  const tagged = await session.exec(['tag', data.imageId, data.image]);
  if (!tagged.ok) return tagged;
  const info = await session.inspectImage(data.image);
  if (!info.ok) return info;
  return info.value.id === data.imageId
    ? ok(undefined)
    : miss(
        `podman loaded image ${info.value.id.slice(0, 12)}, the entry records ${data.imageId.slice(0, 12)}`,
      );
}

export async function restoreEntry(options: {
  readonly store: CacheStore;
  readonly entry: CacheEntry;
  readonly namespace: string;
  readonly step: Step;
  readonly project: Project;
  readonly signal: AbortSignal;
  readonly emit: Emit;
  readonly hashes?: HashCache;
  /** Leave the step's log alone (it was written as the step ran elsewhere; the entry's is checked only). */
  readonly skipLog?: boolean;
}): Promise<Result<Restored>> {
  const { store, entry, step, project, signal, namespace } = options;
  const staging = cacheStagingDir(project.stateDir, step.id);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  try {
    let bytes = 0;
    const fetch = async (blob: BlobRef, name: string): Promise<Result<string>> => {
      const file = join(staging, name);
      const got = await store.fetchBlob({ blob, file, namespace, signal });
      if (!got.ok) return got;
      bytes += blob.size;
      return ok(file);
    };
    const configFile = await fetch(entry.config, 'config.json');
    if (!configFile.ok) return configFile;
    let record: EntryRecord;
    try {
      record = JSON.parse(readFileSync(configFile.value, 'utf8')) as EntryRecord;
    } catch (error) {
      return miss(`the step record does not parse: ${errorMessage(error)}`);
    }
    if (record.format !== 1 || record.hash !== entry.key || record.kind !== step.kind) {
      return miss(`the step record is for ${record.kind} ${record.hash}, not this ${step.kind} step`);
    }
    const problem = checkLayers(record, entry.layers);
    if (problem) return miss(problem);
    const moves: [string, string, string][] = [];
    let log: string | undefined;
    let archive: string | undefined;
    // A few blobs at a time: a build's disk and its side files need not wait for each other.
    const fetched: Result<string>[] = [];
    const queue = [...entry.layers.keys()];
    const worker = async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        fetched[i] = await fetch(entry.layers[i] as BlobRef, `layer-${i}`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_FETCHES }, worker));
    for (const [i, layer] of entry.layers.entries()) {
      const file = fetched[i] as Result<string>;
      if (!file.ok) return file;
      if (layer.mediaType === LOG_TYPE) log = file.value;
      else if (layer.mediaType === IMAGE_TYPE) archive = file.value;
      else {
        const path = layer.annotations?.[TITLE] ?? '';
        const target = insideProject(project.dir, path);
        if (!target) return miss(`output ${path} is outside the project`);
        moves.push([file.value, target, layer.digest]);
      }
    }
    if (archive) {
      const loaded = await loadImage({ project, step, archive, data: record.outputs.data, signal });
      if (!loaded.ok) return loaded;
    }
    for (const [from, to, digest] of moves) {
      await mkdir(dirname(to), { recursive: true });
      await rename(from, to);
      // Verified while downloading: the record need not read the file again.
      options.hashes?.remember(to, statSync(to), digest.slice('sha256:'.length));
    }
    if (log && !options.skipLog) {
      const target = stepLogFile(project.stateDir, step.id);
      await mkdir(dirname(target), { recursive: true });
      await rename(log, target);
      for (const line of readFileSync(target, 'utf8').split('\n')) {
        if (line) options.emit({ type: 'step-output', step: step.id, stream: 'stdout', line });
      }
    }
    return ok({
      outputs: { files: moves.map(([, to]) => to), data: record.outputs.data },
      savedMs: record.durationMs,
      bytes,
      record,
    });
  } catch (error) {
    return failWith({ reason: 'cache-io', message: `restoring ${step.id}: ${errorMessage(error)}` });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
