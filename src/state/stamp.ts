/**
 * A step's stamp, `.kiwibox/steps/<id>/stamp.json`: the few hundred bytes that let a no-op run call
 * the step fresh without hashing its inputs' list into a fingerprint or parsing its record (whose
 * per-file hashes and stats make it large). It holds the record's hash and outputs, a digest of the
 * fingerprint without its files, and a digest of the inputs' stats (see inputsDigest): both digests
 * equal means the fingerprint equals the record's. Written after record.json and removed before it,
 * so a stamp never outlives its record.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/fs.js';
import type { LastRun } from './record.js';

const FORMAT = 1;

/** What a decision computes besides the fingerprint, and a stamp stores. */
export interface StampDigests {
  /** fingerprintHash of the fingerprint with `files` left empty. */
  readonly rest: string;
  /** inputsDigest of the inputs' stats. */
  readonly inputs: string;
}

export interface StepStamp extends LastRun, StampDigests {}

const stampPath = (dir: string) => join(dir, 'stamp.json');

/** The stamp in step dir `dir`, if there is a readable one of this format. */
export function readStamp(dir: string): StepStamp | undefined {
  try {
    const stamp = JSON.parse(readFileSync(stampPath(dir), 'utf8')) as StepStamp & { v?: number };
    return stamp?.v === FORMAT && typeof stamp.hash === 'string' && stamp.outputs ? stamp : undefined;
  } catch {
    return undefined;
  }
}

export async function writeStamp(dir: string, run: LastRun, digests: StampDigests): Promise<void> {
  const stamp = {
    v: FORMAT,
    hash: run.hash,
    rest: digests.rest,
    inputs: digests.inputs,
    outputs: run.outputs,
    finishedAt: run.finishedAt,
  };
  await writeFileAtomic(stampPath(dir), JSON.stringify(stamp));
}

export async function dropStamp(dir: string): Promise<void> {
  await rm(stampPath(dir), { force: true });
}
