import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { describeReason } from '../../fingerprint/explain.js';
import type { Output } from '../../reporters/output.js';
import { stepLogFile } from '../../state/layout.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { planSession } from '../session.js';
import { cacheLine, slurmLine, slurmTarget } from './plan.js';

/** Explains the decision for one step: the stored fingerprint against the current one, field by field. */
export async function whyCommand(global: GlobalOptions, step: string, out: Output): Promise<number> {
  const opened = await planSession({ global, targets: [step], force: false, out });
  if (!opened) return EXIT.badInput;
  const { planned } = opened;
  const { project } = opened.session;
  const entry = planned.find((p) => p.step === step);
  if (!entry) throw new Error(`Internal error: ${step} missing from its own plan`);
  if (entry.failures) {
    out.failures(entry.failures);
    return EXIT.failed;
  }
  if (entry.action === 'fresh') {
    const at = entry.record?.finishedAt ? ` (last run finished ${entry.record.finishedAt})` : '';
    out.print(`${step} is fresh: its fingerprint and outputs match the last successful run${at}`);
    return EXIT.ok;
  }
  out.print(`${step} would run:`);
  for (const r of entry.reasons) out.print(`  ${describeReason(r)}`);
  if (entry.cache) out.print(`  ${cacheLine(entry.cache)}`);
  const target = slurmTarget(project, entry);
  if (target) out.print(`  ${slurmLine(target)}`);
  const log = stepLogFile(project.stateDir, step);
  if (!entry.record && existsSync(log))
    out.print(`last attempt did not succeed; its log: ${relative(global.cwd, log)}`);
  return EXIT.ok;
}
