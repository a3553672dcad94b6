import { rm } from 'node:fs/promises';
import { removeTree } from '../../executors/kiwi/mounts.js';
import type { Output } from '../../reporters/output.js';
import { stepDir, stepLogFile } from '../../state/layout.js';
import { readRecord, recordedOutputs } from '../../state/record.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { openSession } from '../session.js';

/** Removes what the steps produced (target dirs, declared outputs) and their records and logs. */
export async function cleanCommand(global: GlobalOptions, targets: string[], out: Output): Promise<number> {
  const session = await openSession(global, targets);
  if (!session.ok) {
    out.failures(session.error);
    return EXIT.badInput;
  }
  const { project, lookup } = session.value;
  const ids = targets.length ? targets : [...project.steps.keys()];
  for (const id of ids) {
    const step = project.steps.get(id);
    if (!step) continue;
    const record = readRecord(project.stateDir, id);
    const outputs = record ? recordedOutputs(record, project.dir) : undefined;
    await lookup(step)?.clean?.(step, outputs, project);
    if (step.kind === 'build' || step.kind === 'stack') await removeTree(step.targetDir);
    for (const file of outputs?.files ?? []) await rm(file, { force: true, recursive: true });
    await rm(stepDir(project.stateDir, id), { recursive: true, force: true });
    await rm(stepLogFile(project.stateDir, id), { force: true });
    out.print(`cleaned ${id}`);
  }
  return EXIT.ok;
}
