/**
 * `kiwibox __slurm-step REQUEST` (internal): what a Slurm job runs on its node. It loads the project
 * from the shared directory, runs one step's own executor exactly as a local run would (same code
 * for fingerprints' inputs, staging, boxes), prints the step's output lines for srun to carry back,
 * and writes the outputs or failures to the result file the submitting kiwibox reads. It takes no
 * step lock and writes no record: the submitting side holds the lock and records the result.
 */
import { rm } from 'node:fs/promises';
import { loadProject } from '../../config/load.js';
import type { ExecutorContext, StepOutputs } from '../../core/executor.js';
import { errorMessage, type Failure } from '../../core/result.js';
import { executorsFor } from '../../executors/index.js';
import {
  type JobResult,
  PROGRESS_MARK,
  readJobRequest,
  writeJobFile,
} from '../../executors/slurm/job-files.js';
import { makeScratchDir } from '../../executors/slurm/scratch.js';
import type { Output } from '../../reporters/output.js';
import { EXIT } from '../options.js';
import { interruptController } from '../signals.js';

async function runStep(
  requestFile: string,
  signal: AbortSignal,
): Promise<{ result?: JobResult; failures: Failure[]; resultFile?: string }> {
  const jobId = process.env.SLURM_JOB_ID ?? '';
  const request = await readJobRequest(requestFile);
  if (!request.ok) return { failures: request.error };
  const { step: id, resultFile } = request.value;
  const done = (failures: readonly Failure[]) => ({
    result: { v: 1 as const, jobId, ok: false as const, failures },
    failures: [...failures],
    resultFile,
  });
  const loaded = await loadProject({ file: request.value.file, cache: true, readOnly: true });
  if (!loaded.ok) return done(loaded.error);
  // The node runs the step itself: the project without `slurm:` gives the local executors.
  const project = { ...loaded.value.project, slurm: undefined };
  const step = project.steps.get(id);
  const executor = step && (await executorsFor(project))(step);
  if (!step || !executor) {
    return done([{ step: id, reason: 'no-executor', message: `no step '${id}' to run in ${project.file}` }]);
  }
  const tmp = await makeScratchDir();
  const ctx: ExecutorContext = {
    project,
    signal,
    tmpDir: tmp,
    upstream: new Map(Object.entries(request.value.upstream) as [string, StepOutputs][]),
    output: (line, stream = 'stdout') =>
      (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`),
    progress: (phase, detail) => process.stdout.write(`${PROGRESS_MARK}${JSON.stringify([phase, detail])}\n`),
  };
  try {
    const ran = await executor.run(step, ctx);
    if (!ran.ok) return done(ran.error);
    return { result: { v: 1, jobId, ok: true, outputs: ran.value }, failures: [], resultFile };
  } catch (error) {
    return done([{ step: id, reason: 'internal-error', message: `internal error: ${errorMessage(error)}` }]);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export async function slurmStepCommand(requestFile: string, out: Output): Promise<number> {
  // scancel sends SIGTERM: the step's processes and VMs are stopped the same way as on Ctrl-C.
  const interrupt = interruptController(() => process.exit(EXIT.interrupted));
  try {
    const { result, failures, resultFile } = await runStep(requestFile, interrupt.signal);
    if (result && resultFile) await writeJobFile(resultFile, result);
    // Failures in a result travel in it; only those that could not be written are printed here.
    if (failures.length && !result) out.failures(failures);
    return result?.ok ? EXIT.ok : EXIT.failed;
  } finally {
    interrupt.dispose();
  }
}
