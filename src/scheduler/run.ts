/**
 * The scheduler: runs the selected steps in dependency order, independent ones in parallel up to
 * `jobs` slots (a step weighs what it uses: a box its vCPUs). After a failure no new step starts
 * (unless keepGoing); no step starts after a dependency failed; an abort stops everything.
 */

import type { TeamCache } from '../cache/team-cache.js';
import type { Emit, RunSummary, SkipReason } from '../core/events.js';
import type { ExecutorLookup, StepOutputs } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import type { Failure } from '../core/result.js';
import { type FingerprintServices, upstreamToken } from '../fingerprint/decide.js';
import { InputMemo } from '../fingerprint/inputs.js';
import { readRecord, recordedOutputs } from '../state/record.js';
import { executeStep, type StepOutcome } from './execute-step.js';

export interface RunOptions {
  readonly project: Project;
  /** Step ids to consider, in topological order (see graph/selectSteps). */
  readonly order: readonly string[];
  readonly lookup: ExecutorLookup;
  readonly services: FingerprintServices;
  readonly emit: Emit;
  readonly jobs: number;
  readonly keepGoing: boolean;
  readonly force: boolean;
  /** Ctrl-C: running steps are cancelled, nothing new starts. */
  readonly signal: AbortSignal;
  /** The team cache (src/cache), if one is configured. */
  readonly teamCache?: TeamCache;
}

type State = 'pending' | 'running' | 'ok' | 'failed' | 'skipped';

export async function runSteps(options: RunOptions): Promise<RunSummary> {
  const { project, emit, jobs } = options;
  const specs = options.order.map((id) => {
    const step = project.steps.get(id) as Step;
    return InputMemo.keyOf(options.lookup(step)?.inputs(step, project));
  });
  const services = { ...options.services, inputs: new InputMemo(specs) };
  const started = Date.now();
  const steps = options.order.map((id) => project.steps.get(id) as Step);
  const state = new Map<string, State>(steps.map((s) => [s.id, 'pending']));
  const done = new Map<string, { outputs: StepOutputs; token: string }>();
  const running = new Map<string, Promise<void>>();
  const counts = { succeeded: 0, fresh: 0, failed: 0, skipped: 0, restored: 0, restoredBytes: 0, savedMs: 0 };
  let firstFailure: RunSummary['firstFailure'];
  let free = jobs;
  let stopStarting = false;
  /** A step failed since dependencies were last checked (the first check also finds missing ones). */
  let dependencyFailed = true;

  // Dependencies outside the selection (watch mode runs a subset) count with their last record.
  for (const step of steps) {
    for (const dep of step.deps) {
      if (state.has(dep) || done.has(dep)) continue;
      const record = readRecord(project.stateDir, dep);
      if (record)
        done.set(dep, { outputs: recordedOutputs(record, project.dir), token: upstreamToken(record) });
    }
  }

  emit({ type: 'run-started', steps: options.order, jobs });
  for (const step of steps) emit({ type: 'step-queued', step: step.id, kind: step.kind });

  const countEvents: Emit = (event) => {
    if (event.type === 'step-succeeded') counts.succeeded++;
    if (event.type === 'step-fresh') counts.fresh++;
    if (event.type === 'step-restored') {
      counts.restored++;
      counts.restoredBytes += event.bytes;
      counts.savedMs += event.savedMs;
    }
    if (event.type === 'step-failed') {
      counts.failed++;
      firstFailure ??= { step: event.step, log: event.log, failures: event.failures as Failure[] };
    }
    emit(event);
  };
  const skip = (step: Step, reason: SkipReason, dependency?: string) => {
    state.set(step.id, 'skipped');
    counts.skipped++;
    emit({ type: 'step-skipped', step: step.id, kind: step.kind, reason, dependency });
  };
  const weightOf = (step: Step) => {
    const executor = options.lookup(step);
    const weight = executor?.weight?.(step, project) ?? 1;
    // 0: the step runs elsewhere (a Slurm job) and takes no local slot.
    return weight <= 0 ? 0 : Math.max(1, Math.min(weight, jobs));
  };
  const slotless = steps.some((step) => weightOf(step) === 0);
  const start = (step: Step, weight: number) => {
    free -= weight;
    state.set(step.id, 'running');
    const upstream = new Map(
      step.deps
        .filter((d) => done.has(d))
        .map((d) => [d, done.get(d) as { outputs: StepOutputs; token: string }]),
    );
    const promise = executeStep({
      step,
      project,
      lookup: options.lookup,
      services,
      upstream,
      force: options.force,
      signal: options.signal,
      emit: countEvents,
      ...(options.teamCache ? { teamCache: options.teamCache } : {}),
    }).then((outcome: StepOutcome) => {
      free += weight;
      running.delete(step.id);
      state.set(step.id, outcome.status);
      if (outcome.status === 'ok') done.set(step.id, { outputs: outcome.outputs, token: outcome.token });
      else {
        dependencyFailed = true;
        if (!options.keepGoing) stopStarting = true;
      }
    });
    running.set(step.id, promise);
  };

  // Only pending steps are scanned, for failed dependencies only after a failure, and only until the
  // slots are full: a long no-op run must not be quadratic in its step count.
  let pending = steps;
  for (;;) {
    if (options.signal.aborted) stopStarting = true;
    if (dependencyFailed) {
      dependencyFailed = false;
      for (const step of pending) {
        const bad = step.deps.find(
          (d) => state.get(d) === 'failed' || state.get(d) === 'skipped' || (!state.has(d) && !done.has(d)),
        );
        if (bad !== undefined) skip(step, 'dependency-failed', bad);
      }
    }
    if (!stopStarting) {
      for (const step of pending) {
        if (free === 0 && !slotless) break;
        if (state.get(step.id) !== 'pending') continue;
        if (!step.deps.every((d) => state.get(d) === 'ok' || (!state.has(d) && done.has(d)))) continue;
        const weight = weightOf(step);
        if (weight > free) continue;
        start(step, weight);
      }
    }
    pending = pending.filter((step) => state.get(step.id) === 'pending');
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  for (const step of steps) {
    if (state.get(step.id) === 'pending') skip(step, options.signal.aborted ? 'aborted' : 'stopped');
  }
  const { cache, tools, listings } = options.services;
  await Promise.all([cache.save(), tools.save(), listings.save()]);
  const summary: RunSummary = {
    ...counts,
    durationMs: Date.now() - started,
    firstFailure,
    interrupted: options.signal.aborted,
  };
  emit({ type: 'run-finished', summary });
  return summary;
}
