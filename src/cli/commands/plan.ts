import type { Preview } from '../../cache/preview.js';
import { runsOnSlurm } from '../../config/slurm.js';
import type { Project } from '../../core/model.js';
import { describeReason } from '../../fingerprint/explain.js';
import { formatBytes } from '../../reporters/lines.js';
import type { Output } from '../../reporters/output.js';
import type { PlannedStep } from '../../scheduler/plan.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { planSession } from '../session.js';

/** `would restore from cache (oci://…, signed by 'ci-1', 12.3 MB)` or why not. */
export function cacheLine(preview: Preview): string {
  return preview.restore
    ? `would restore from cache (${preview.store}, signed by '${preview.keyName}', ${formatBytes(preview.bytes)})`
    : `not in the team cache: ${preview.reason}`;
}

/** Where a step that would run (not restore) goes when `slurm:` selects it; plan asks no controller. */
export function slurmTarget(project: Project, planned: PlannedStep): { partition?: string } | undefined {
  const step = project.steps.get(planned.step);
  if (planned.action !== 'run' || planned.cache?.restore || !step || !runsOnSlurm(project.slurm, step)) {
    return undefined;
  }
  return project.slurm?.partition ? { partition: project.slurm.partition } : {};
}

/** `would run on Slurm (partition build)`. */
export function slurmLine(target: { partition?: string }): string {
  return `would run on Slurm (${target.partition ? `partition ${target.partition}` : 'default partition'})`;
}

export async function planCommand(
  global: GlobalOptions,
  targets: string[],
  json: boolean,
  out: Output,
): Promise<number> {
  const opened = await planSession({ global, targets, force: global.force, out });
  if (!opened) return EXIT.badInput;
  const { planned } = opened;
  const slurm = new Map(planned.map((p) => [p.step, slurmTarget(opened.session.project, p)]));
  if (json) {
    out.print(
      JSON.stringify(
        planned.map((p) => ({
          step: p.step,
          kind: p.kind,
          action: p.action,
          reasons: p.reasons,
          failures: p.failures,
          ...(p.cache ? { cache: p.cache.restore ? { ...p.cache, token: undefined } : p.cache } : {}),
          ...(slurm.get(p.step) ? { slurm: slurm.get(p.step) } : {}),
        })),
        null,
        2,
      ),
    );
  } else {
    for (const p of planned) {
      const head = `${p.action.padEnd(5)} ${p.step} [${p.kind}]`;
      out.print(head);
      for (const r of p.reasons) out.print(`        ${describeReason(r)}`);
      if (p.cache) out.print(`        ${cacheLine(p.cache)}`);
      const target = slurm.get(p.step);
      if (target) out.print(`        ${slurmLine(target)}`);
      if (p.failures) out.failures(p.failures);
    }
    const restore = planned.filter((p) => p.cache?.restore).length;
    const toRun = planned.filter((p) => p.action !== 'fresh').length - restore;
    const onSlurm = [...slurm.values()].filter(Boolean).length;
    out.print(
      `${toRun} of ${planned.length} steps would run${onSlurm ? ` (${onSlurm} on Slurm)` : ''}${restore ? `, ${restore} would restore from cache` : ''}`,
    );
  }
  return planned.some((p) => p.action === 'error') ? EXIT.failed : EXIT.ok;
}
