/**
 * `run` and `plan` answered by a `kiwibox watch` running on the project (watch/serve.ts): when it
 * vouches that the selection is fresh, print exactly what a no-op prints, plus where the answer came
 * from. Anything else (no watch, a doubt, a flag that changes what a run does) returns undefined and
 * the command checks in full. Loaded before the rest of the command: keep imports light.
 */
import type { StepKind } from '../../core/model.js';
import type { Output } from '../../reporters/output.js';
import type { AskAnswer } from '../../watch/protocol.js';
import { EXIT, type GlobalOptions } from '../options.js';

export interface AskFlags {
  /** `--no-watch`. */
  readonly noWatch?: boolean;
  readonly profile?: string;
}

type Fresh = Extract<AskAnswer, { fresh: true }>;

/** Why not to ask at all, or undefined. */
function notAsking(global: GlobalOptions, flags: AskFlags): string | undefined {
  if (flags.noWatch) return '--no-watch';
  if (process.env.KIWIBOX_NO_WATCH) return 'KIWIBOX_NO_WATCH is set';
  if (global.force) return '--force';
  if (flags.profile !== undefined) return '--profile';
  if (Object.keys(global.cache).length) return 'cache flags';
  return undefined;
}

async function freshFromWatch(
  global: GlobalOptions,
  targets: readonly string[],
  out: Output,
  flags: AskFlags,
): Promise<Fresh | undefined> {
  const debug = (why: string) => {
    if (process.env.KIWIBOX_WATCH_DEBUG) out.error(`kiwibox: full check: ${why}`);
  };
  const skip = notAsking(global, flags);
  if (skip) {
    debug(`not asking a watch (${skip})`);
    return undefined;
  }
  const { askWatch } = await import('../../watch/ask.js');
  const asked = await askWatch({ file: global.file, targets });
  if ('none' in asked) {
    debug(asked.none);
    return undefined;
  }
  if (!asked.answer.fresh) {
    debug(`the watch (pid ${asked.answer.pid}) does not know: ${asked.answer.why}`);
    return undefined;
  }
  return asked.answer;
}

const marker = (answer: Fresh) =>
  `answered by kiwibox watch (pid ${answer.pid}): nothing changed since its last check`;

/** `kiwibox run` as a no-op from the watch's answer: the reporter sees what a no-op run emits. */
export async function runFromWatch(
  global: GlobalOptions,
  targets: readonly string[],
  out: Output,
  flags: AskFlags,
): Promise<number | undefined> {
  const answer = await freshFromWatch(global, targets, out, flags);
  if (!answer) return undefined;
  const started = Date.now();
  const { createReporter, defaultReporter } = await import('../../reporters/create.js');
  const reporter = await createReporter(global.reporter ?? defaultReporter(), global.cwd);
  const steps = answer.steps.map((s) => ({ step: s.id, kind: s.kind as StepKind }));
  reporter.event({ type: 'run-started', steps: steps.map((s) => s.step), jobs: global.jobs });
  for (const s of steps) reporter.event({ type: 'step-queued', ...s });
  for (const s of steps) reporter.event({ type: 'step-fresh', ...s });
  reporter.event({ type: 'info', message: marker(answer) });
  reporter.event({
    type: 'run-finished',
    summary: {
      succeeded: 0,
      fresh: steps.length,
      failed: 0,
      skipped: 0,
      restored: 0,
      restoredBytes: 0,
      savedMs: 0,
      durationMs: Date.now() - started,
      firstFailure: undefined,
      interrupted: false,
    },
  });
  reporter.close();
  return EXIT.ok;
}

/** `kiwibox plan` from the watch's answer: every step fresh, as plan prints it. */
export async function planFromWatch(
  global: GlobalOptions,
  targets: readonly string[],
  out: Output,
  flags: AskFlags & { readonly json: boolean },
): Promise<number | undefined> {
  const answer = await freshFromWatch(global, targets, out, flags);
  if (!answer) return undefined;
  if (flags.json) {
    const planned = answer.steps.map((s) => ({ step: s.id, kind: s.kind, action: 'fresh', reasons: [] }));
    out.print(JSON.stringify(planned, null, 2));
    return EXIT.ok;
  }
  for (const s of answer.steps) out.print(`${'fresh'.padEnd(5)} ${s.id} [${s.kind}]`);
  out.print(`0 of ${answer.steps.length} steps would run (${marker(answer)})`);
  return EXIT.ok;
}
