/**
 * What `run` would do, without running anything: per step, fresh or run, and why. A step whose
 * dependency will run is reported as running too (its inputs are not known until then).
 */
import type { Project, Step } from '../config/model.js';
import type { Failure } from '../core/result.js';
import type { ExecutorLookup } from '../executors/registry.js';
import {
  computeFingerprint,
  decide,
  type FingerprintServices,
  upstreamToken,
} from '../fingerprint/decide.js';
import type { Reason } from '../fingerprint/explain.js';
import type { Fingerprint } from '../fingerprint/fingerprint.js';
import { readRecord, type StepRecord } from '../fingerprint/state.js';

export interface PlannedStep {
  readonly step: string;
  readonly kind: Step['kind'];
  readonly action: 'fresh' | 'run' | 'error';
  readonly reasons: readonly Reason[];
  readonly failures?: readonly Failure[];
  readonly fingerprint?: Fingerprint;
  readonly record?: StepRecord;
}

export async function planSteps(options: {
  readonly project: Project;
  readonly order: readonly string[];
  readonly lookup: ExecutorLookup;
  readonly services: FingerprintServices;
  readonly force: boolean;
  readonly signal: AbortSignal;
}): Promise<PlannedStep[]> {
  const { project } = options;
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
            message: `no executor for ${step.kind} steps in this build of kiwibox`,
          },
        ],
      });
      willRun.add(id);
      continue;
    }
    const record = readRecord(project.stateDir, id);
    const fingerprint = await computeFingerprint({
      step,
      project,
      executor,
      services: options.services,
      upstream: tokens,
      signal: options.signal,
      record,
    });
    if (!fingerprint.ok) {
      planned.push({ step: id, kind: step.kind, action: 'error', reasons: [], failures: fingerprint.error });
      willRun.add(id);
      continue;
    }
    const decision = await decide({
      step,
      project,
      executor,
      fingerprint: fingerprint.value.fingerprint,
      record,
      force: options.force,
    });
    const reasons: Reason[] = step.deps
      .filter((d) => willRun.has(d))
      .map((d): Reason => ({ type: 'upstream-will-run', step: d }));
    // An upstream that will run makes "upstream changed" a consequence, not news: keep the cause.
    reasons.push(...decision.reasons.filter((r) => !(r.type === 'upstream-changed' && willRun.has(r.step))));
    if (decision.record) tokens.set(id, upstreamToken(decision.record));
    const action = reasons.length ? 'run' : 'fresh';
    if (action === 'run') willRun.add(id);
    planned.push({
      step: id,
      kind: step.kind,
      action,
      reasons,
      fingerprint: decision.fingerprint,
      record: decision.record,
    });
  }
  await Promise.all([options.services.cache.save(), options.services.tools.save()]);
  return planned;
}
