/**
 * What travels between the submitting kiwibox and kiwibox on a node that has no shared filesystem:
 * nothing through the project directory. The request goes in srun's argv (small: the step, its
 * fingerprint and those of its dependencies, which are their team-cache keys), the node's verdict
 * comes back as one marked line on stdout, and the data itself moves through the team cache. The
 * cache side (uploading dependencies, restoring the result) is given by the caller as a
 * SlurmCacheLink: executors/ sits below cache/ in the import tiers.
 */
import type { StepOutputs } from '../../core/executor.js';
import type { Project, Step } from '../../core/model.js';
import { errorMessage, fail, ok, type Result } from '../../core/result.js';
import type { JobResult } from './job-files.js';

export interface NodeRequest {
  readonly v: 2;
  /** The project's working copy on the node. */
  readonly dir: string;
  /** kiwibox.yaml relative to `dir`. */
  readonly file: string;
  readonly step: string;
  /** The step's fingerprint hash here: the node must arrive at the same, or refuse. */
  readonly hash: string;
  /** This machine's parts of the fingerprint, which the node adopts (as with a shared filesystem). */
  readonly platform: string;
  readonly tools: Readonly<Record<string, string>>;
  /** Each dependency's fingerprint hash: the key of its entry in the team cache. */
  readonly upstream: Readonly<Record<string, string>>;
}

/** The line the node prints last, with its JobResult (the submitter takes it out of the log). */
export const RESULT_MARK = '\u001fkiwibox-result ';

/** A request longer than this would crowd srun's argv (Linux: 128 KiB per argument). */
const MAX_REQUEST = 64 * 1024;

export function encodeRequest(request: NodeRequest): Result<string> {
  const text = JSON.stringify(request);
  if (text.length <= MAX_REQUEST) return ok(text);
  return fail([
    {
      step: request.step,
      reason: 'slurm-rejected',
      message: `the request for '${request.step}' (${text.length} bytes) is too long for srun's command line`,
    },
  ]);
}

export function decodeRequest(text: string): Result<NodeRequest> {
  try {
    const value = JSON.parse(text) as NodeRequest;
    if (
      value?.v !== 2 ||
      typeof value.step !== 'string' ||
      typeof value.hash !== 'string' ||
      typeof value.platform !== 'string' ||
      typeof value.tools !== 'object'
    ) {
      throw new Error('not a kiwibox node request');
    }
    return ok(value);
  } catch (error) {
    return fail([
      { reason: 'slurm-result-unreadable', message: `cannot read the job request: ${errorMessage(error)}` },
    ]);
  }
}

/** The JobResult in a marked stdout line, or undefined for any other line. */
export function resultOf(line: string): JobResult | undefined {
  if (!line.startsWith(RESULT_MARK)) return undefined;
  try {
    const value = JSON.parse(line.slice(RESULT_MARK.length)) as JobResult;
    return value?.v === 1 && typeof value.jobId === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The team cache as the Slurm executor needs it without a shared filesystem (cache/slurm-link.ts). */
export interface SlurmCacheLink {
  /**
   * Variables for the job that make the node's kiwibox use this run's cache settings, even those
   * given as flags (srun exports the environment, not kiwibox's command line).
   */
  readonly nodeEnv: Readonly<Record<string, string>>;
  /**
   * Makes sure the entries of `step`'s dependencies are in the cache (uploading those built here,
   * if this run may write) and returns their keys by step id; a failure names what is missing.
   */
  publishUpstream(options: {
    readonly step: Step;
    readonly project: Project;
    readonly signal: AbortSignal;
  }): Promise<Result<Record<string, string>>>;
  /** The step's outputs from entry `key`, verified (signature, digests) and moved into the project. */
  restoreResult(options: {
    readonly step: Step;
    readonly project: Project;
    readonly key: string;
    readonly signal: AbortSignal;
  }): Promise<Result<StepOutputs>>;
}
