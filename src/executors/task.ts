/**
 * `tasks:` — any command, make-style: an argv list, or a string run by `sh -c`, in the project dir
 * with the environment passed through. Declared outputs must exist afterwards.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { StepExecutor, StepOutputs } from '../core/executor.js';
import type { TaskStep } from '../core/model.js';
import { fail, ok, type Result } from '../core/result.js';
import { runProcess } from '../process/run.js';

/** Absolute output paths; literal paths must exist, globs may match nothing. */
export async function taskOutputs(step: TaskStep, projectDir: string): Promise<Result<string[]>> {
  // Loaded here, after a run: deciding that a task is fresh needs no glob crawler.
  const { glob, isDynamicPattern } = await import('tinyglobby');
  const files: string[] = [];
  const missing: string[] = [];
  for (const pattern of step.outputs) {
    if (isDynamicPattern(pattern)) {
      files.push(...(await glob(pattern, { cwd: projectDir, absolute: true, dot: true, onlyFiles: true })));
    } else {
      const path = resolve(projectDir, pattern);
      if (existsSync(path)) files.push(path);
      else missing.push(pattern);
    }
  }
  if (missing.length) {
    return fail(
      missing.map((path) => ({
        step: step.id,
        reason: 'missing-output',
        message: `the task succeeded but did not create its declared output ${path}`,
        location: step.fields.outputs,
      })),
    );
  }
  return ok(files);
}

export const taskExecutor: StepExecutor<TaskStep> = {
  tools: () => [],
  inputs: (step) => ({ dirs: [], files: [], globs: step.inputs }),
  async run(step, ctx): Promise<Result<StepOutputs>> {
    const argv: [string, ...string[]] =
      typeof step.run === 'string' ? ['sh', '-c', step.run] : (step.run as [string, ...string[]]);
    const ran = await runProcess({
      argv,
      cwd: ctx.project.dir,
      env: step.env,
      signal: ctx.signal,
      onLine: ctx.output,
      step: step.id,
    });
    if (!ran.ok) return ran;
    const files = await taskOutputs(step, ctx.project.dir);
    return files.ok ? ok({ files: files.value, data: {} }) : files;
  },
};
