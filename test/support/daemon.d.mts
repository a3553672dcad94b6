/** Types of daemon.mjs (plain JavaScript, shared with bench scripts through slurm-cluster.mjs). */
import type { ChildProcess } from 'node:child_process';

export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void;

export interface DaemonGuard {
  /** Whether the child has exited (by itself or stopped). */
  exited(): boolean;
  /** SIGKILL to the group (a crash), then waits up to 5 s for the exit. */
  kill(): Promise<void>;
  /** SIGTERM to the group, SIGKILL after `graceMs` (default 5 s); resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Guards a detached child (its own process group); SIGKILLs the group if this process exits first. */
export function guardDaemon(child: ChildProcess): DaemonGuard;
