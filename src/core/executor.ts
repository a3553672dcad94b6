/**
 * The one interface every step kind implements (task, host build, box, boxed build, stash, stack).
 * The scheduler owns ordering, fingerprints, locks and state; an executor only knows how to
 * describe its inputs and run one step.
 */
import type { Project, Step } from './model.js';
import type { Result } from './result.js';

/** What a finished step leaves behind, recorded in its state and checked before it counts as fresh. */
export interface StepOutputs {
  /** Files (absolute paths) the step produced; their size/mtime/hash are recorded. */
  readonly files: readonly string[];
  /** Non-file results (a box digest, an image id), visible to dependents and in `why`. */
  readonly data: Readonly<Record<string, string>>;
}

/** What to hash for a step, beyond its normalised config. */
export interface InputSpec {
  /** Directories hashed whole (a KIWI description). */
  readonly dirs: readonly string[];
  /** Single files (a box kernel). */
  readonly files: readonly string[];
  /** Glob patterns relative to `project.dir` (a task's `inputs`). */
  readonly globs: readonly string[];
}

/** Handed to `run`: everything a step may use, nothing global. */
export interface ExecutorContext {
  readonly project: Project;
  /** Aborted on Ctrl-C or when a sibling failed (without --keep-going): stop gracefully. */
  readonly signal: AbortSignal;
  /** One line of the step's output: goes to `.kiwibox/logs/<step>.log` and to the reporter. */
  readonly output: (line: string, stream?: 'stdout' | 'stderr') => void;
  /** Where a long step is now (`packages`, `12/80`): a `step-progress` event; optional for callers. */
  readonly progress?: (phase: string, detail?: string) => void;
  /** Outputs of the step's dependencies, by step id. */
  readonly upstream: ReadonlyMap<string, StepOutputs>;
  /** A scratch directory for this run; removed after the step ends. */
  readonly tmpDir: string;
  /**
   * The step's fingerprint where the scheduler knows it: its hash (the team-cache key) and the parts
   * that describe this machine, not the project (a Slurm node without a shared filesystem adopts them).
   */
  readonly fingerprint?: {
    readonly hash: string;
    readonly platform: string;
    readonly tools: Readonly<Record<string, string>>;
    /** A digest of each project part (fingerprintParts): a node that differs says which. */
    readonly parts?: Readonly<Record<string, string>>;
  };
}

export interface StepExecutor<S extends Step = Step> {
  /** System tools whose versions enter the fingerprint (see state/tools.ts). */
  tools(step: S, project: Project): readonly string[];
  /** Files and directories whose content enters the fingerprint. */
  inputs(step: S, project: Project): InputSpec;
  /**
   * Extra fingerprint fields computed before deciding freshness (e.g. the digest a remote tag
   * points at now). Keys become fields of the fingerprint and show in `why`.
   */
  extra?(step: S, ctx: { project: Project; signal: AbortSignal }): Promise<Result<Record<string, string>>>;
  /** Scheduler slots the step takes while running (a box: its vCPUs). Default 1; 0: none (runs elsewhere). */
  weight?(step: S, project: Project): number;
  /** Runs the step. Success only when the result was observed (files read back, exit codes seen). */
  run(step: S, ctx: ExecutorContext): Promise<Result<StepOutputs>>;
  /**
   * For outputs that are not files (an image in podman): true if they still exist as recorded.
   * Called only when the fingerprint matched.
   */
  stillValid?(step: S, outputs: StepOutputs, project: Project): Promise<boolean>;
  /** `kiwibox clean STEP`: remove what the step produced (files are removed by the caller). */
  clean?(step: S, outputs: StepOutputs | undefined, project: Project): Promise<void>;
}

/** Which executor runs a step (executors/index.ts wires them). */
export type ExecutorLookup = (step: Step) => StepExecutor | undefined;
