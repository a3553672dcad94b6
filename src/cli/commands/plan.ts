import type { Preview } from '../../cache/preview.js';
import { describeReason } from '../../fingerprint/explain.js';
import { formatBytes } from '../../reporters/lines.js';
import type { Output } from '../../reporters/output.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { planSession } from '../session.js';

/** `would restore from cache (oci://…, signed by 'ci-1', 12.3 MB)` or why not. */
export function cacheLine(preview: Preview): string {
  return preview.restore
    ? `would restore from cache (${preview.store}, signed by '${preview.keyName}', ${formatBytes(preview.bytes)})`
    : `not in the team cache: ${preview.reason}`;
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
      if (p.failures) out.failures(p.failures);
    }
    const restore = planned.filter((p) => p.cache?.restore).length;
    const toRun = planned.filter((p) => p.action !== 'fresh').length - restore;
    out.print(
      `${toRun} of ${planned.length} steps would run${restore ? `, ${restore} would restore from cache` : ''}`,
    );
  }
  return planned.some((p) => p.action === 'error') ? EXIT.failed : EXIT.ok;
}
