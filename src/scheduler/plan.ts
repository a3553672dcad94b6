/**
 * What `run` would do, without running anything: per step, fresh or run, and why. A step whose
 * dependency will run is reported as running too (its inputs are not known until then).
 */

import { type Preview, previewRestore } from '../cache/preview.js';
import type { TeamCache } from '../cache/team-cache.js';
import type { RerunReason } from '../core/events.js';
import type { ExecutorLookup } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import type { Failure } from '../core/result.js';
import { type FingerprintServices, fingerprintAndDecide, upstreamToken } from '../fingerprint/decide.js';
import { InputMemo } from '../fingerprint/inputs.js';
import type { Fingerprint, LastRun } from '../state/record.js';

export interface PlannedStep {
  readonly step: string;
  readonly kind: Step['kind'];
  readonly action: 'fresh' | 'run' | 'error';
  readonly reasons: readonly RerunReason[];
  readonly failures?: readonly Failure[];
  readonly fingerprint?: Fingerprint;
  readonly record?: LastRun;
  /** For a step that would run, with a team cache: restored from it instead, or why not. */
  readonly cache?: Preview;
}

export async function planSteps(options: {
  readonly project: Project;
  readonly order: readonly string[];
  readonly lookup: ExecutorLookup;
  readonly services: FingerprintServices;
  readonly force: boolean;
  readonly signal: AbortSignal;
  /** Look steps that would run up in the team cache (signature checked, nothing written). */
  readonly teamCache?: TeamCache;
  /**
   * Steps with the same inputs share one listing (InputMemo): only where nothing runs meanwhile
   * (`plan`, `why`; not the watch, which may plan while a run writes).
   */
  readonly shareInputs?: boolean;
}): Promise<PlannedStep[]> {
  const { project } = options;
  const keys = options.shareInputs
    ? options.order.map((id) => {
        const step = project.steps.get(id) as Step;
        return InputMemo.keyOf(options.lookup(step)?.inputs(step, project));
      })
    : [];
  const services = options.shareInputs
    ? { ...options.services, inputs: new InputMemo(keys) }
    : options.services;
  const tokens = new Map<string, string>();
  const willRun = new Set<string>();
  const planned: PlannedStep[] = [];
  for (const id of options.order) {
    const step = project.steps.get(id) as Step;
    const executor = options.lookup(step);
    if (!executor) {
      planned.push({
        step: id,
        kind: step.kind,
        action: 'error',
        reasons: [],
        failures: [
          {
            step: id,
            reason: 'no-executor',
            message: `no executor for ${step.kind} steps like '${step.id}' in this build of kiwibox`,
          },
        ],
      });
      willRun.add(id);
      continue;
    }
    const decided = await fingerprintAndDecide({
      step,
      project,
      executor,
      services,
      upstream: tokens,
      force: options.force,
      signal: options.signal,
    });
    if (!decided.ok) {
      planned.push({ step: id, kind: step.kind, action: 'error', reasons: [], failures: decided.error });
      willRun.add(id);
      continue;
    }
    const { decision } = decided.value;
    const reasons: RerunReason[] = step.deps
      .filter((d) => willRun.has(d))
      .map((d): RerunReason => ({ type: 'upstream-will-run', step: d }));
    // An upstream that will run makes "upstream changed" a consequence, not news: keep the cause.
    reasons.push(...decision.reasons.filter((r) => !(r.type === 'upstream-changed' && willRun.has(r.step))));
    if (decision.record) tokens.set(id, upstreamToken(decision.record));
    const action = reasons.length ? 'run' : 'fresh';
    // Only a step whose inputs are all known (no upstream will run) has a fingerprint to look up.
    const cache =
      action === 'run' && options.teamCache && !options.force && !step.deps.some((d) => willRun.has(d))
        ? await previewRestore({ cache: options.teamCache, step, key: decision.hash, signal: options.signal })
        : undefined;
    if (cache?.restore) tokens.set(id, cache.token);
    else if (action === 'run') willRun.add(id);
    planned.push({
      step: id,
      kind: step.kind,
      action,
      reasons,
      fingerprint: decision.kind === 'fresh-by-stamp' ? undefined : decision.fingerprint,
      record: decision.record,
      ...(cache ? { cache } : {}),
    });
  }
  return planned;
}
