/** Wraps the executors of the steps `slurm:` selects; one run id and one job cap per kiwibox run. */
import { randomBytes } from 'node:crypto';
import { runsOnSlurm } from '../../config/slurm.js';
import type { ExecutorLookup, StepExecutor } from '../../core/executor.js';
import type { SlurmSettings } from '../../core/model.js';
import { slurmExecutor } from './executor.js';
import type { SlurmCacheLink } from './node-data.js';
import { Slots } from './slots.js';

export function slurmLookup(
  settings: SlurmSettings,
  local: ExecutorLookup,
  cache?: SlurmCacheLink,
): ExecutorLookup {
  const run = {
    settings,
    runId: randomBytes(4).toString('hex'),
    slots: new Slots(settings.maxJobs),
    ...(cache ? { cache } : {}),
  };
  const wrapped = new Map<StepExecutor, StepExecutor>();
  return (step) => {
    const inner = local(step);
    if (!inner || !runsOnSlurm(settings, step)) return inner;
    let outer = wrapped.get(inner);
    if (!outer) {
      outer = slurmExecutor(inner, run);
      wrapped.set(inner, outer);
    }
    return outer;
  };
}
