/** Types of slurm-cluster.mjs (plain JavaScript, so that bench/slurm.mjs can start the same cluster). */
export interface TestSlurm {
  readonly dir: string;
  /** `SLURM_CONF` for every client (srun, scontrol, squeue, scancel) and for kiwibox. */
  readonly env: { readonly SLURM_CONF: string };
  /** The node's name (the short host name). */
  readonly node: string;
  /** Lines of the jobcomp file: one per finished job. */
  finishedJobs(): string[];
  /** Job ids squeue lists (pending or running). */
  queued(): string[];
  /** Output of a Slurm client command run against this cluster. */
  client(argv: readonly string[]): string;
  /** SIGKILLs the node: slurmd, its slurmstepd processes and the jobs' processes. */
  killNode(): void;
  /** Starts slurmd again (after killNode). */
  startNode(): void;
  /**
   * SIGSTOPs munged until the returned function is called: a Slurm client (scancel) hangs before it
   * has sent anything, as with a controller or network too slow to answer.
   */
  pauseMunge(): () => void;
  /** sinfo's state of the node: idle, mixed, allocated, down*, … */
  nodeState(): string;
  stop(): Promise<void>;
}

export const SLURM_TOOLS: readonly string[];

export function startSlurm(): Promise<TestSlurm>;
