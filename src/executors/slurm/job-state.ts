/**
 * A Slurm job's final state from `scontrol show job` (slurmctld keeps finished jobs for MinJobAge
 * seconds; no accounting daemon needed, unlike sacct). `sbatch --wait`'s exit code is no substitute:
 * it reports a cancelled job like a failed one.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runProcess } from '../../process/run.js';

export interface JobState {
  /** COMPLETED, FAILED, CANCELLED, NODE_FAIL, TIMEOUT, OUT_OF_MEMORY, … (`+` suffix dropped). */
  readonly state: string;
  /** `ExitCode=3:0`: the exit code and the signal. */
  readonly exitCode: string;
  readonly reason: string;
}

/** States of a job that has not ended yet. */
export const ACTIVE: ReadonlySet<string> = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'REQUEUED',
  'RESIZING',
]);

/** Parses one `scontrol show job -o` line. */
export function parseJobLine(line: string): JobState | undefined {
  const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1];
  const state = field('JobState');
  if (state === undefined) return undefined;
  return {
    state: state.replace(/\+$/, ''),
    exitCode: field('ExitCode') ?? '',
    reason: field('Reason') ?? '',
  };
}

/** The job's state once it is no longer active (waits up to `waitMs` for COMPLETING to end). */
export async function finalJobState(options: {
  readonly jobId: string;
  readonly cwd: string;
  readonly waitMs?: number;
}): Promise<JobState | undefined> {
  const until = Date.now() + (options.waitMs ?? 15_000);
  for (;;) {
    const shown = await runProcess({
      argv: ['scontrol', '--oneliner', 'show', 'job', options.jobId],
      cwd: options.cwd,
    });
    const state = shown.ok ? parseJobLine(shown.value.stdout) : undefined;
    if (state && !ACTIVE.has(state.state)) return state;
    if (Date.now() > until) return state;
    await sleep(200);
  }
}

/** Cancels jobs by id, or by name while the id is not known yet. */
export async function cancelJob(options: {
  readonly jobId?: string;
  readonly name: string;
  readonly cwd: string;
}) {
  const target = options.jobId ?? `--name=${options.name}`;
  await runProcess({ argv: ['scancel', target], cwd: options.cwd });
}

/**
 * Waits (up to `waitMs`) until no job of this name is left in the queue: after scancel a job stays
 * COMPLETING while slurmd ends its processes, and kiwibox promises an empty queue when it exits.
 */
export async function waitJobsGone(options: {
  readonly name: string;
  readonly cwd: string;
  readonly waitMs?: number;
}): Promise<void> {
  const until = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    const listed = await runProcess({
      argv: ['squeue', '--noheader', `--name=${options.name}`, '--format=%i'],
      cwd: options.cwd,
    });
    if (listed.ok && listed.value.stdout.trim() === '') return;
    if (Date.now() > until) return;
    await sleep(200);
  }
}

/** Undefined if the controller answers, else why not (for the check before a run). */
export async function controllerProblem(cwd: string, signal?: AbortSignal): Promise<string | undefined> {
  const ping = await runProcess({
    argv: ['scontrol', 'ping'],
    cwd,
    timeoutMs: 30_000,
    ...(signal ? { signal } : {}),
  });
  if (ping.ok && /\bUP\b/.test(ping.value.stdout)) return undefined;
  if (ping.ok) return ping.value.stdout.trim();
  return ping.error.map((f) => f.message).join('; ');
}
