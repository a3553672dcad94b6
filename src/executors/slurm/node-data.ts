/**
 * What travels between the submitting kiwibox and kiwibox on a node that has no shared filesystem:
 * nothing through the project directory. The request goes in srun's argv (small: the step, its
 * fingerprint and those of its dependencies, which are their team-cache keys), the node's verdict
 * comes back as one marked line on stdout, and the data itself moves through the team cache. The
 * cache side (uploading dependencies, restoring the result) is given by the caller as a
 * SlurmCacheLink: executors/ sits below cache/ in the import tiers.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { StepOutputs } from '../../core/executor.js';
import type { Project, Step } from '../../core/model.js';
import { errorMessage, type Failure, fail, ok, type Result } from '../../core/result.js';
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
  /** A digest of each project part of the fingerprint (fingerprintParts), to name what differs. */
  readonly parts?: Readonly<Record<string, string>>;
  /** The submitting kiwibox's version: the node's must be the same (see nodeVersionFailure). */
  readonly kiwibox: string;
}

/** This kiwibox's version (package.json), sent in the request and compared on the node. */
export const KIWIBOX_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/**
 * Another kiwibox on the node could run the step differently, or fingerprint it differently, with
 * nothing in the fingerprint to say so: refused by version before anything is read or run.
 */
export function nodeVersionFailure(request: NodeRequest, here = KIWIBOX_VERSION): Failure | undefined {
  if (request.kiwibox === here) return undefined;
  return {
    step: request.step,
    reason: 'slurm-node-version',
    message: `kiwibox on the node is version ${here}, on the submitting side ${request.kiwibox}: install the same kiwibox on the nodes; nothing was run`,
  };
}

/** The line the node prints last, with its JobResult (the submitter takes it out of the log). */
export const RESULT_MARK = '\u001fkiwibox-result ';

/** A request longer than this would crowd srun's argv (Linux: 128 KiB per argument). */
const MAX_REQUEST = 64 * 1024;

export function encodeRequest(request: NodeRequest): Result<string> {
  const text = JSON.stringify(request);
  const bytes = Buffer.byteLength(text);
  if (bytes <= MAX_REQUEST) return ok(text);
  return fail([
    {
      step: request.step,
      reason: 'slurm-rejected',
      message: `the request for '${request.step}' (${bytes} bytes) is too long for srun's command line`,
    },
  ]);
}

const isStrings = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((v) => typeof v === 'string');

/** What is wrong with a parsed request, or undefined: the node acts on every field. */
function requestProblem(value: Partial<Record<keyof NodeRequest, unknown>> | null): string | undefined {
  if (value?.v !== 2) return 'not a kiwibox node request (version 2)';
  if (typeof value.dir !== 'string' || !isAbsolute(value.dir)) return "'dir' is not an absolute path";
  if (
    typeof value.file !== 'string' ||
    !value.file ||
    isAbsolute(value.file) ||
    value.file.split('/').includes('..')
  )
    return "'file' is not a path inside 'dir'";
  for (const field of ['step', 'hash', 'platform', 'kiwibox'] as const) {
    if (typeof value[field] !== 'string' || !value[field]) return `'${field}' is not a string`;
  }
  if (!isStrings(value.tools)) return "'tools' is not a map of strings";
  if (!isStrings(value.upstream)) return "'upstream' is not a map of strings";
  if (value.parts !== undefined && !isStrings(value.parts)) return "'parts' is not a map of strings";
  return undefined;
}

export function decodeRequest(text: string): Result<NodeRequest> {
  let problem: string | undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
    problem = requestProblem(value as Parameters<typeof requestProblem>[0]);
  } catch (error) {
    problem = errorMessage(error);
  }
  if (problem === undefined) return ok(value as NodeRequest);
  return fail([{ reason: 'slurm-result-unreadable', message: `cannot read the job request: ${problem}` }]);
}

/**
 * A line of the step's own output as the node prints it: one starting with the marks' \x1f gets a
 * visible escape, so a task cannot print a verdict or progress line the submitter would believe.
 */
export function escapeMarks(line: string): string {
  return line.startsWith('\u001f') ? `\\x1f${line.slice(1)}` : line;
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
