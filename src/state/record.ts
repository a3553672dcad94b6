/**
 * Per-step records in `.kiwibox/steps/<id>/`: the fingerprint of the last successful run and the
 * manifest of its outputs, with a small stamp beside it (stamp.ts). The record is dropped before a
 * step runs and written only after it succeeded, so a crash or failure always leaves the step stale.
 */
import { readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { RerunReason } from '../core/events.js';
import type { StepOutputs } from '../core/executor.js';
import { writeFileAtomic } from '../core/fs.js';
import type { Step } from '../core/model.js';
import { type HashCache, sha256File } from './hash-cache.js';
import { dropStamp, type StampDigests, writeStamp } from './stamp.js';

/** A file's identity as last hashed: [dev, ino, size, mtimeMs, ctimeMs]. */
export type StatKey = readonly [number, number, number, number, number];

/** The persisted shape; fingerprint/fingerprint.ts computes it. */
export interface Fingerprint {
  readonly format: number;
  readonly kind: Step['kind'];
  readonly platform: string;
  /** Normalised step config (paths relative to the project dir, no source locations). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Input files: relative path → sha256 (sorted). */
  readonly files: Readonly<Record<string, string>>;
  /** Tool → version line. */
  readonly tools: Readonly<Record<string, string>>;
  /** Upstream step id → its fingerprint hash. */
  readonly upstream: Readonly<Record<string, string>>;
  /** Executor-specific facts (remote digests, box digest). */
  readonly extra: Readonly<Record<string, string>>;
}

export interface OutputFileRecord {
  /** Relative to the project dir when inside it. */
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

/** What freshness and dependents need of a step's last successful run (a record or its stamp). */
export interface LastRun {
  readonly hash: string;
  readonly outputs: {
    readonly files: readonly OutputFileRecord[];
    readonly data: Readonly<Record<string, string>>;
  };
  readonly finishedAt: string;
}

export interface StepRecord extends LastRun {
  readonly fingerprint: Fingerprint;
  /** Stat of each input file when it was hashed (see hashInputs). */
  readonly inputStats?: Readonly<Record<string, StatKey>>;
  readonly durationMs: number;
}

/** Step ids may contain dots; keep the directory name unambiguous and safe. */
export function stepDir(stateDir: string, id: string): string {
  return join(stateDir, 'steps', encodeURIComponent(id));
}

export function readRecord(stateDir: string, id: string): StepRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(stepDir(stateDir, id), 'record.json'), 'utf8')) as StepRecord;
  } catch {
    return undefined;
  }
}

export async function dropRecord(stateDir: string, id: string): Promise<void> {
  await dropStamp(stepDir(stateDir, id));
  await rm(join(stepDir(stateDir, id), 'record.json'), { force: true });
}

/** Records a successful run; output files are hashed now (through the stat cache). */
export async function writeRecord(options: {
  readonly stateDir: string;
  readonly projectDir: string;
  readonly id: string;
  readonly fingerprint: Fingerprint;
  readonly hash: string;
  readonly outputs: StepOutputs;
  readonly cache: HashCache;
  readonly durationMs: number;
  readonly inputStats: Readonly<Record<string, StatKey>>;
  /** For the stamp, from the same decision as `fingerprint`. */
  readonly digests: StampDigests;
}): Promise<StepRecord> {
  const files: OutputFileRecord[] = [];
  for (const file of [...new Set(options.outputs.files)].sort()) {
    const st = statSync(file);
    files.push({
      path: relative(options.projectDir, file),
      size: st.size,
      mtimeMs: st.mtimeMs,
      sha256: st.isFile() ? await options.cache.hash(file, st) : 'dir',
    });
  }
  const record: StepRecord = {
    fingerprint: options.fingerprint,
    hash: options.hash,
    outputs: { files, data: options.outputs.data },
    inputStats: options.inputStats,
    finishedAt: new Date().toISOString(),
    durationMs: options.durationMs,
  };
  const dir = stepDir(options.stateDir, options.id);
  await writeFileAtomic(join(dir, 'record.json'), JSON.stringify(record, null, 1));
  await writeStamp(dir, record, options.digests);
  return record;
}

/** Outputs as recorded, as absolute paths. */
export function recordedOutputs(record: LastRun, projectDir: string): StepOutputs {
  return { files: record.outputs.files.map((f) => resolve(projectDir, f.path)), data: record.outputs.data };
}

/**
 * Are the recorded outputs still there, unchanged? Size and mtime decide; when only the mtime moved
 * (a touch, a copy), the content hash decides.
 */
export async function checkOutputs(record: LastRun, projectDir: string): Promise<RerunReason[]> {
  const reasons: RerunReason[] = [];
  for (const file of record.outputs.files) {
    const path = resolve(projectDir, file.path);
    let st: import('node:fs').Stats;
    try {
      st = statSync(path);
    } catch {
      reasons.push({ type: 'output-missing', path: file.path });
      continue;
    }
    if (st.size !== file.size || (file.sha256 === 'dir') !== st.isDirectory()) {
      reasons.push({ type: 'output-modified', path: file.path });
    } else if (st.mtimeMs !== file.mtimeMs && st.isFile() && (await sha256File(path)) !== file.sha256) {
      reasons.push({ type: 'output-modified', path: file.path });
    }
  }
  return reasons;
}
