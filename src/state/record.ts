/**
 * Per-step records (paths: layout.ts): the fingerprint of the last successful run and the manifest
 * of its outputs, and beside it the step's stamp. The record is dropped before a step runs and
 * written only after it succeeded, so a crash or failure always leaves the step stale.
 *
 * The stamp is the few hundred bytes that let a no-op run call the step fresh without hashing its
 * inputs' list into a fingerprint or parsing its record (whose per-file hashes and stats make it
 * large). It holds the record's hash and outputs, a digest of the fingerprint without its files, and
 * a digest of the inputs' stats (see inputsDigest): both digests equal means the fingerprint equals
 * the record's. Written after record.json and removed before it, so a stamp never outlives its record.
 */
import { readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import type { RerunReason } from '../core/events.js';
import type { StepOutputs } from '../core/executor.js';
import { writeFileAtomic } from '../core/fs.js';
import type { Step } from '../core/model.js';
import { type HashCache, sha256File } from './hash-cache.js';
import { recordFile, stampFile } from './layout.js';

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

export function readRecord(stateDir: string, id: string): StepRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordFile(stateDir, id), 'utf8')) as StepRecord;
  } catch {
    return undefined;
  }
}

export async function dropRecord(stateDir: string, id: string): Promise<void> {
  await rm(stampFile(stateDir, id), { force: true });
  await rm(recordFile(stateDir, id), { force: true });
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
  await writeFileAtomic(recordFile(options.stateDir, options.id), JSON.stringify(record, null, 1));
  await writeStamp({ stateDir: options.stateDir, id: options.id, run: record, digests: options.digests });
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

// The stamp.

const STAMP_FORMAT = 1;

/** What a decision computes besides the fingerprint, and a stamp stores. */
export interface StampDigests {
  /** fingerprintHash of the fingerprint with `files` left empty. */
  readonly rest: string;
  /** inputsDigest of the inputs' stats. */
  readonly inputs: string;
}

export interface StepStamp extends LastRun, StampDigests {}

/** The step's stamp, if there is a readable one of this format. */
export function readStamp(stateDir: string, id: string): StepStamp | undefined {
  try {
    const stamp = JSON.parse(readFileSync(stampFile(stateDir, id), 'utf8')) as StepStamp & { v?: number };
    return stamp?.v === STAMP_FORMAT && typeof stamp.hash === 'string' && stamp.outputs ? stamp : undefined;
  } catch {
    return undefined;
  }
}

export async function writeStamp(options: {
  readonly stateDir: string;
  readonly id: string;
  readonly run: LastRun;
  readonly digests: StampDigests;
}): Promise<void> {
  const { run, digests } = options;
  const stamp = {
    v: STAMP_FORMAT,
    hash: run.hash,
    rest: digests.rest,
    inputs: digests.inputs,
    outputs: run.outputs,
    finishedAt: run.finishedAt,
  };
  await writeFileAtomic(stampFile(options.stateDir, options.id), JSON.stringify(stamp));
}
