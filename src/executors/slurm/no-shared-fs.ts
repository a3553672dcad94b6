/**
 * The submitting side of a step on a node without a shared filesystem (node-data.ts): before the
 * job, the dependencies' entries must be in the team cache; the request goes in srun's argv; the
 * node's result comes back as a marked stdout line; after a COMPLETED job the step's outputs are
 * restored here from the entry the node uploaded, verified like any restore. Nothing goes through
 * the project directory, and a job whose entry cannot be restored is a failure, never a success.
 */
import { relative } from 'node:path';
import type { ExecutorContext, StepOutputs } from '../../core/executor.js';
import type { SlurmSettings, Step } from '../../core/model.js';
import { fail, failWith, type Result } from '../../core/result.js';
import type { JobChannel, JobResult } from './job-files.js';
import { encodeRequest, KIWIBOX_VERSION, resultOf, type SlurmCacheLink } from './node-data.js';

/** Ctrl-C while the cache is being read or written: not the cache's fault, whatever failed. */
const cancelled = (step: Step, when: string) =>
  failWith({ step: step.id, reason: 'cancelled', message: `'${step.id}' was cancelled ${when}` });

export async function noSharedFsChannel(options: {
  readonly step: Step;
  readonly ctx: ExecutorContext;
  readonly settings: SlurmSettings;
  readonly cache: SlurmCacheLink | undefined;
}): Promise<Result<JobChannel>> {
  const { step, ctx, cache } = options;
  const { project } = ctx;
  if (!cache || ctx.fingerprint === undefined) {
    return failWith({
      step: step.id,
      reason: 'slurm-upstream-not-cached',
      message: `'${step.id}' goes to Slurm without a shared filesystem, which needs the team cache, and this run has none open (kiwibox watch opens none)`,
    });
  }
  const { hash: key, platform, tools, parts } = ctx.fingerprint;
  const upstream = await cache.publishUpstream({ step, project, signal: ctx.signal });
  if (!upstream.ok) return ctx.signal.aborted ? cancelled(step, 'before its Slurm job') : upstream;
  const dir = options.settings.nodeProjectDir ?? project.dir;
  const request = encodeRequest({
    v: 2,
    dir,
    file: relative(project.dir, project.file),
    step: step.id,
    hash: key,
    platform,
    tools,
    upstream: upstream.value,
    ...(parts ? { parts } : {}),
    kiwibox: KIWIBOX_VERSION,
  });
  if (!request.ok) return request;
  let result: JobResult | undefined;
  return {
    ok: true,
    value: {
      args: ['__slurm-step', '--inline', request.value],
      chdir: dir,
      env: cache.nodeEnv,
      take(line) {
        const found = resultOf(line);
        if (found) result = found;
        return found !== undefined;
      },
      async result(jobId) {
        if (result?.jobId === jobId) return { ok: true, value: result };
        return fail([
          {
            step: step.id,
            reason: 'slurm-result-unreadable',
            message: result
              ? `the result on the job's output was written by job ${result.jobId}, not ${jobId}`
              : `Slurm job ${jobId} printed no result from kiwibox`,
          },
        ]);
      },
      async collect(_nodeOutputs: StepOutputs) {
        const restored = await cache.restoreResult({ step, project, key, signal: ctx.signal });
        return !restored.ok && ctx.signal.aborted
          ? cancelled(step, 'while its result was restored from the team cache')
          : restored;
      },
    },
  };
}
