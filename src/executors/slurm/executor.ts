/**
 * The Slurm executor wraps a step's own executor: fingerprints, inputs and clean-up stay the inner
 * executor's, and `run` becomes one Slurm job (srun) in which kiwibox on the node runs the inner
 * executor on the shared project directory (`kiwibox __slurm-step`, see node-step.ts). The live log
 * streams back through srun; the outcome is the job's final state (scontrol) plus the result file the
 * node wrote. Anything less than both is a failure, never a success. Without a shared filesystem the
 * request, result and data travel another way (no-shared-fs.ts), through the same JobChannel.
 */
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ExecutorContext, StepExecutor, StepOutputs } from '../../core/executor.js';
import type { SlurmSettings, Step } from '../../core/model.js';
import { type Failure, fail, ok, type Result } from '../../core/result.js';
import { onForcedExit } from '../../process/forced-exit.js';
import { runProcess } from '../../process/run.js';
import { slurmRequestFile, slurmResultFile, slurmRunDir } from '../../state/layout.js';
import { type JobChannel, PROGRESS_MARK, readJobResult, writeJobFile } from './job-files.js';
import { ACTIVE, cancelJob, finalJobState, type JobState, waitJobsGone } from './job-state.js';
import { noSharedFsChannel } from './no-shared-fs.js';
import type { SlurmCacheLink } from './node-data.js';
import type { Slots } from './slots.js';
import { jobIdOf, srunArgv, srunLineShown } from './srun-argv.js';

const BIN = fileURLToPath(new URL('../../../bin/kiwibox.js', import.meta.url));
/** After scancel, how long srun gets to end on its own before its process group is killed. */
const SRUN_GRACE_MS = 15_000;

export interface SlurmRun {
  readonly settings: SlurmSettings;
  /** Unique per kiwibox run: in job names (`kiwibox:<step>@<run>`) and the state dir. */
  readonly runId: string;
  readonly slots: Slots;
  /** Without a shared filesystem: the team cache the data moves through (none open: steps fail). */
  readonly cache?: SlurmCacheLink;
}

type Attempt = Result<StepOutputs> & { readonly retry?: boolean };

function failure(step: Step, reason: Failure['reason'], message: string): Attempt {
  return fail([{ step: step.id, reason, message }]);
}

/** What the final job state means for the step when the node left no usable result. */
function stateFailure(step: Step, job: string, state: JobState | undefined, srunErrors: string[]): Attempt {
  const said = srunErrors.length ? ` (${srunErrors.join('; ')})` : '';
  if (!state) return failure(step, 'slurm-job-failed', `the state of Slurm job ${job} cannot be read${said}`);
  switch (state.state) {
    case 'CANCELLED':
      return failure(step, 'slurm-cancelled', `Slurm job ${job} was cancelled${said}`);
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return {
        ...failure(step, 'slurm-node-failed', `the node of Slurm job ${job} failed (${state.state})${said}`),
        retry: true,
      };
    case 'TIMEOUT':
    case 'DEADLINE':
      return failure(step, 'slurm-time-limit', `Slurm job ${job} reached its time limit${said}`);
    default:
      return failure(
        step,
        'slurm-job-failed',
        `Slurm job ${job} ended ${state.state} (exit code ${state.exitCode}) without a result from kiwibox${said}`,
      );
  }
}

/** A progress line the node printed (job-files.ts PROGRESS_MARK), as a step-progress event's fields. */
function progressOf(line: string): [string, string | undefined] | undefined {
  if (!line.startsWith(PROGRESS_MARK)) return undefined;
  try {
    const [phase, detail] = JSON.parse(line.slice(PROGRESS_MARK.length)) as unknown[];
    return typeof phase === 'string' ? [phase, typeof detail === 'string' ? detail : undefined] : undefined;
  } catch {
    return undefined;
  }
}

async function submitOnce(step: Step, ctx: ExecutorContext, run: SlurmRun): Promise<Attempt> {
  if (run.settings.sharedFilesystem === false) {
    const channel = await noSharedFsChannel({ step, ctx, settings: run.settings, cache: run.cache });
    return channel.ok ? submitAndWait(step, ctx, run, channel.value) : channel;
  }
  const { stateDir } = ctx.project;
  try {
    return await submitAndWait(step, ctx, run, await sharedFsChannel(step, ctx, run));
  } finally {
    await rm(slurmRequestFile(stateDir, run.runId, step.id), { force: true });
    await rm(slurmResultFile(stateDir, run.runId, step.id), { force: true });
    // The run's directory goes with its last job (rmdir fails while other jobs' files are there).
    await rmdir(slurmRunDir(stateDir, run.runId)).catch(() => undefined);
  }
}

/** Shared filesystem: the request and the result are files in the project's state dir. */
async function sharedFsChannel(step: Step, ctx: ExecutorContext, run: SlurmRun): Promise<JobChannel> {
  const { project } = ctx;
  const request = slurmRequestFile(project.stateDir, run.runId, step.id);
  const resultFile = slurmResultFile(project.stateDir, run.runId, step.id);
  await mkdir(slurmRunDir(project.stateDir, run.runId), { recursive: true });
  await rm(resultFile, { force: true });
  await writeJobFile(request, {
    v: 1,
    file: project.file,
    step: step.id,
    upstream: Object.fromEntries(ctx.upstream),
    resultFile,
  });
  return {
    args: ['__slurm-step', request],
    chdir: project.dir,
    result: (jobId) => readJobResult({ path: resultFile, jobId, step: step.id }),
  };
}

async function submitAndWait(
  step: Step,
  ctx: ExecutorContext,
  run: SlurmRun,
  channel: JobChannel,
): Promise<Attempt> {
  const { project } = ctx;
  const jobName = `kiwibox:${step.id}@${run.runId}`;
  let jobId: string | undefined;
  const srunErrors: string[] = [];
  const onLine = (line: string, stream: 'stdout' | 'stderr') => {
    if (stream === 'stderr' && line.startsWith('srun: ')) {
      jobId ??= jobIdOf(line);
      if (/error/i.test(line)) srunErrors.push(line.replace(/^srun: (error: )?/, ''));
      if (!srunLineShown(line)) return;
    }
    if (stream === 'stdout' && channel.take?.(line)) return;
    const progress = stream === 'stdout' ? progressOf(line) : undefined;
    if (progress) {
      ctx.progress?.(...progress);
      return;
    }
    ctx.output(line, stream);
  };
  // Ctrl-C: scancel first (the job, not just srun, must end), then srun gets a grace period.
  const kill = new AbortController();
  let cancelling: Promise<void> | undefined;
  const onAbort = () => {
    cancelling = cancelJob({ jobId, name: jobName, cwd: project.dir }).then(() => {
      setTimeout(() => kill.abort(), SRUN_GRACE_MS).unref();
      return waitJobsGone({ name: jobName, cwd: project.dir });
    });
  };
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  // A second Ctrl-C exits at once and kills srun: scancel again, or the job would run on.
  const forget = onForcedExit(() => cancelJob({ jobId, name: jobName, cwd: project.dir }));
  const argv = srunArgv({
    step,
    project,
    settings: run.settings,
    jobName,
    chdir: channel.chdir,
    command: [process.execPath, BIN, ...channel.args],
  });
  try {
    await runProcess({
      argv,
      cwd: project.dir,
      signal: kill.signal,
      onLine,
      step: step.id,
      // --export=ALL takes the signing key to the node, whose kiwibox signs the result there.
      keepSecrets: true,
      ...(channel.env ? { env: channel.env } : {}),
    });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    forget();
    await cancelling;
  }
  if (ctx.signal.aborted) {
    return failure(
      step,
      'cancelled',
      `Slurm job ${jobId ?? jobName} was cancelled (kiwibox was interrupted)`,
    );
  }
  if (jobId === undefined) {
    const why = srunErrors.at(-1) ?? 'srun ended before Slurm allocated a job';
    return failure(step, 'slurm-rejected', `Slurm did not accept the job for '${step.id}': ${why}`);
  }
  const state = await finalJobState({ jobId, cwd: project.dir });
  if (state && ACTIVE.has(state.state) && srunErrors.some((e) => /node failure/i.test(e))) {
    // srun saw the node fail before slurmctld marked the job: end it, then count it as NODE_FAIL.
    await cancelJob({ jobId, name: jobName, cwd: project.dir });
    return stateFailure(step, jobId, { ...state, state: 'NODE_FAIL' }, srunErrors);
  }
  if (state?.state === 'COMPLETED' || state?.state === 'FAILED') {
    const result = await channel.result(jobId);
    if (result.ok) {
      if (!result.value.ok) return fail(result.value.failures.map((f) => ({ ...f, step: step.id })));
      if (state.state !== 'COMPLETED') return stateFailure(step, jobId, state, srunErrors);
      return channel.collect ? channel.collect(result.value.outputs) : ok(result.value.outputs);
    }
    if (state.state === 'COMPLETED') return result;
  }
  return stateFailure(step, jobId, state, srunErrors);
}

/** `inner` run as Slurm jobs; takes no local -j slot (Slurm's own cap: `slurm.max-jobs`). */
export function slurmExecutor<S extends Step>(inner: StepExecutor<S>, run: SlurmRun): StepExecutor<S> {
  return {
    tools: (step, project) => inner.tools(step, project),
    inputs: (step, project) => inner.inputs(step, project),
    ...(inner.extra ? { extra: inner.extra.bind(inner) } : {}),
    ...(inner.stillValid ? { stillValid: inner.stillValid.bind(inner) } : {}),
    ...(inner.clean ? { clean: inner.clean.bind(inner) } : {}),
    weight: () => 0,
    async run(step, ctx) {
      const release = await run.slots.take(ctx.signal);
      if (!release) return failure(step, 'cancelled', `'${step.id}' was cancelled before it was submitted`);
      try {
        for (let attempt = 0; ; attempt++) {
          const outcome = await submitOnce(step, ctx, run);
          if (outcome.ok || !outcome.retry || attempt >= run.settings.retries || ctx.signal.aborted) {
            return outcome.ok ? ok(outcome.value) : fail(outcome.error);
          }
          for (const f of outcome.error)
            ctx.output(
              `kiwibox: ${f.message}; submitting again (retry ${attempt + 1} of ${run.settings.retries})`,
              'stderr',
            );
        }
      } finally {
        release();
      }
    },
  };
}
