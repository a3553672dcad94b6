/**
 * The check `run` and `watch` make before anything runs: a project whose selected steps go to Slurm
 * needs a controller that answers (exit 1 with `slurm-unreachable` otherwise). Loaded only for
 * projects with `slurm:`, so a plain no-op run never imports the Slurm code.
 */
import type { Project, Step } from '../core/model.js';
import type { Failure } from '../core/result.js';

/** `signal` (Ctrl-C) ends the controller check; the caller then sees its signal aborted. */
export async function slurmProblem(
  project: Project,
  order: readonly string[],
  signal?: AbortSignal,
): Promise<Failure | undefined> {
  const settings = project.slurm;
  if (!settings) return undefined;
  const { runsOnSlurm } = await import('../config/slurm.js');
  if (!order.some((id) => runsOnSlurm(settings, project.steps.get(id) as Step))) return undefined;
  const { controllerProblem } = await import('../executors/slurm/job-state.js');
  const problem = await controllerProblem(project.dir, signal);
  if (problem === undefined) return undefined;
  return { reason: 'slurm-unreachable', message: `the Slurm controller does not answer: ${problem}` };
}
