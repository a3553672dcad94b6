/**
 * What travels between the submitting kiwibox and kiwibox on the node, as files in the shared
 * state dir: the request (which step, its dependencies' outputs) and the node's result (the
 * step's outputs or failures, and the job id that wrote it, so a stale file never counts).
 */
import { readFile } from 'node:fs/promises';
import type { StepOutputs } from '../../core/executor.js';
import { writeFileAtomic } from '../../core/fs.js';
import { errorMessage, type Failure, fail, ok, type Result } from '../../core/result.js';

export interface JobRequest {
  readonly v: 1;
  /** Absolute path of kiwibox.yaml. */
  readonly file: string;
  readonly step: string;
  readonly upstream: Readonly<Record<string, StepOutputs>>;
  /** Where the node writes its JobResult. */
  readonly resultFile: string;
}

export type JobResult =
  | { readonly v: 1; readonly jobId: string; readonly ok: true; readonly outputs: StepOutputs }
  | { readonly v: 1; readonly jobId: string; readonly ok: false; readonly failures: readonly Failure[] };

/** How a job's request reaches the node and its result comes back (files, or argv + stdout + cache). */
export interface JobChannel {
  /** What follows `kiwibox` on the node's command line. */
  readonly args: readonly string[];
  /** srun --chdir: the project's directory on the node. */
  readonly chdir: string;
  /** Added to srun's environment (which --export=ALL passes to the job). */
  readonly env?: Readonly<Record<string, string>>;
  /** Takes a stdout line meant for kiwibox (true: not part of the log). */
  readonly take?: (line: string) => boolean;
  /** The node's result, read once the job ended COMPLETED or FAILED. */
  result(jobId: string): Promise<Result<JobResult>>;
  /** The step's outputs here, from the node's outputs (COMPLETED and a successful result only). */
  collect?(outputs: StepOutputs): Promise<Result<StepOutputs>>;
}

/** A line the node prints for a `step-progress` event (the submitter turns it back into one). */
export const PROGRESS_MARK = '\u001fkiwibox-progress ';

export async function writeJobFile(path: string, value: JobRequest | JobResult): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value)}\n`);
}

export async function readJobRequest(path: string): Promise<Result<JobRequest>> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as JobRequest;
    if (value.v !== 1 || typeof value.step !== 'string') throw new Error('not a kiwibox job request');
    return ok(value);
  } catch (error) {
    return fail([
      {
        reason: 'slurm-result-unreadable',
        message: `cannot read the job request ${path}: ${errorMessage(error)}`,
      },
    ]);
  }
}

/** The node's result for job `jobId`; a missing, malformed or other job's file is a failure. */
export async function readJobResult(options: {
  readonly path: string;
  readonly jobId: string;
  readonly step: string;
}): Promise<Result<JobResult>> {
  const bad = (why: string) =>
    fail([
      {
        step: options.step,
        reason: 'slurm-result-unreadable' as const,
        message: `Slurm job ${options.jobId} left no readable result (${options.path}: ${why})`,
      },
    ]);
  let value: JobResult;
  try {
    value = JSON.parse(await readFile(options.path, 'utf8')) as JobResult;
  } catch (error) {
    return bad(errorMessage(error));
  }
  if (value?.v !== 1) return bad('not a kiwibox job result');
  if (value.jobId !== options.jobId) return bad(`written by job ${value.jobId}`);
  const outputs = value.ok ? value.outputs : undefined;
  if (outputs && (!Array.isArray(outputs.files) || typeof outputs.data !== 'object')) {
    return bad('malformed outputs');
  }
  if (!value.ok && !Array.isArray(value.failures)) return bad('malformed failures');
  return ok(value);
}
