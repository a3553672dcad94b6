/**
 * Per-step records in `.kiwibox/steps/<id>/`: the fingerprint of the last successful run and the
 * manifest of its outputs, with a small stamp beside it (stamp.ts). The record is dropped before a
 * step runs and written only after it succeeded, so a crash or failure always leaves the step stale.
 */
import { readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { StepOutputs } from '../core/executor.js';
import { writeFileAtomic } from '../core/fs.js';
import type { Reason } from '../fingerprint/explain.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import type { StatKey } from '../fingerprint/inputs.js';
import { type HashCache, sha256File } from './hash-cache.js';
import { dropStamp, type StampDigests, writeStamp } from './stamp.js';

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
export async function checkOutputs(record: LastRun, projectDir: string): Promise<Reason[]> {
  const reasons: Reason[] = [];
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
