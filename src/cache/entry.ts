/**
 * What a cache entry holds for a step, both ways: the step record (the entry's config blob) and its
 * layers, one per output file, one for the log and, for a stash, one oci-archive of its image.
 * Which steps may be cached at all is decided here too.
 */
import { isAbsolute } from 'node:path';
import type { Step } from '../core/model.js';
import type { StepRecord } from '../state/record.js';
import type { BlobRef, Digest } from './store.js';

export const CONFIG_TYPE = 'application/vnd.kiwibox.step.config.v1+json';
export const FILE_TYPE = 'application/vnd.kiwibox.file.v1';
export const LOG_TYPE = 'application/vnd.kiwibox.log.v1';
/** A stash's image as `podman save --format oci-archive` writes it (podman load reads it back). */
export const IMAGE_TYPE = 'application/vnd.kiwibox.image.oci-archive.v1';
export const TITLE = 'org.opencontainers.image.title';

/** The entry's config blob: the step record as the writer had it, without machine-local stats. */
export interface EntryRecord {
  readonly format: 1;
  readonly step: string;
  readonly kind: Step['kind'];
  readonly hash: string;
  readonly fingerprint: StepRecord['fingerprint'];
  readonly outputs: {
    readonly files: readonly { readonly path: string; readonly size: number; readonly sha256: string }[];
    readonly data: Readonly<Record<string, string>>;
  };
  readonly durationMs: number;
  readonly finishedAt: string;
  /** kiwibox version that wrote it. */
  readonly writer: string;
}

export function entryRecord(options: { step: Step; record: StepRecord; writer: string }): EntryRecord {
  const { step, record } = options;
  return {
    format: 1,
    step: step.id,
    kind: step.kind,
    hash: record.hash,
    fingerprint: record.fingerprint,
    outputs: {
      files: record.outputs.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
      data: record.outputs.data,
    },
    durationMs: record.durationMs,
    finishedAt: record.finishedAt,
    writer: options.writer,
  };
}

/** Why a step's result cannot go into the cache (undefined: it can). */
export function notCacheable(step: Step, record?: StepRecord): string | undefined {
  if (step.kind === 'box') return 'boxes live in the box store, not in the team cache';
  if (step.kind === 'stash' && step.push)
    return 'its push to a registry is a side effect a restore cannot repeat';
  for (const file of record?.outputs.files ?? []) {
    if (file.sha256 === 'dir') return `output ${file.path} is a directory`;
    if (isAbsolute(file.path) || file.path.startsWith('..'))
      return `output ${file.path} is outside the project`;
  }
  return undefined;
}

export function fileLayer(file: { path: string; size: number; sha256: string }): BlobRef {
  return {
    digest: `sha256:${file.sha256}` as Digest,
    size: file.size,
    mediaType: FILE_TYPE,
    annotations: { [TITLE]: file.path },
  };
}

/**
 * Checks that the layers are exactly the record's outputs (one file layer per output, same digest
 * and size), at most one log and, for a stash, one image; the problem otherwise.
 */
export function checkLayers(record: EntryRecord, layers: readonly BlobRef[]): string | undefined {
  const files = new Map(record.outputs.files.map((f) => [f.path, f]));
  let logs = 0;
  let images = 0;
  for (const layer of layers) {
    if (layer.mediaType === LOG_TYPE) logs++;
    else if (layer.mediaType === IMAGE_TYPE) images++;
    else if (layer.mediaType === FILE_TYPE) {
      const path = layer.annotations?.[TITLE] ?? '';
      const file = files.get(path);
      if (!file || `sha256:${file.sha256}` !== layer.digest || file.size !== layer.size) {
        return `layer ${layer.digest} (${path}) is not an output of the record`;
      }
      files.delete(path);
    } else return `unknown layer type ${layer.mediaType}`;
  }
  if (files.size) return `no layer for output ${[...files.keys()][0]}`;
  if (logs > 1 || images > (record.kind === 'stash' ? 1 : 0)) return 'unexpected extra layers';
  if (record.kind === 'stash' && images !== 1) return 'no image layer for the stash';
  return undefined;
}
