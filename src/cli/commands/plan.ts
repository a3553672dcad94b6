import { describeReason } from '../../fingerprint/explain.js';
import type { Output } from '../../reporters/output.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { planSession } from '../session.js';

export async function planCommand(
  global: GlobalOptions,
  targets: string[],
  json: boolean,
  out: Output,
): Promise<number> {
  const opened = await planSession({ global, targets, force: global.force, out });
  if (!opened) return EXIT.badInput;
  const { planned } = opened;
  if (json) {
    out.print(
      JSON.stringify(
        planned.map((p) => ({
          step: p.step,
          kind: p.kind,
          action: p.action,
          reasons: p.reasons,
          failures: p.failures,
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
      if (p.failures) out.failures(p.failures);
    }
    const toRun = planned.filter((p) => p.action !== 'fresh').length;
    out.print(`${toRun} of ${planned.length} steps would run`);
  }
  return planned.some((p) => p.action === 'error') ? EXIT.failed : EXIT.ok;
}
