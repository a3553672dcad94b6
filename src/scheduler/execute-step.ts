/**
 * One step, start to end: fingerprint → fresh? → lock → (fresh after all?) → run → record. The
 * lock is taken only to run, so a no-op run creates no files; the decision is re-checked under the
 * lock in case another kiwibox finished the step meanwhile.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TeamCache } from '../cache/team-cache.js';
import type { Emit } from '../core/events.js';
import type { ExecutorContext, ExecutorLookup, StepExecutor, StepOutputs } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import type { Failure, Result } from '../core/result.js';
import { errorMessage } from '../core/result.js';
import {
  type Decided,
  type FingerprintServices,
  fingerprintAndDecide,
  upstreamToken,
} from '../fingerprint/decide.js';
import { fingerprintParts } from '../fingerprint/fingerprint.js';
import { removeOnExit } from '../process/live-groups.js';
import { acquireStepLock } from '../state/lock.js';
import {
  dropRecord,
  type LastRun,
  readRecord,
  recordedOutputs,
  writeRecord,
  writeStamp,
} from '../state/record.js';
import { StepLog } from '../state/step-log.js';

export type StepOutcome =
  | { readonly status: 'ok'; readonly outputs: StepOutputs; readonly token: string }
  | { readonly status: 'failed' };

export interface ExecuteStepOptions {
  readonly step: Step;
  readonly project: Project;
  readonly lookup: ExecutorLookup;
  readonly services: FingerprintServices;
  /** Outcomes of the step's dependencies (all `ok`). */
  readonly upstream: ReadonlyMap<string, { outputs: StepOutputs; token: string }>;
  readonly force: boolean;
  readonly signal: AbortSignal;
  readonly emit: Emit;
  /** The team cache (src/cache): tried before running, written after success. */
  readonly teamCache?: TeamCache;
}

function decideStep(options: ExecuteStepOptions, executor: StepExecutor): Promise<Result<Decided>> {
  return fingerprintAndDecide({
    step: options.step,
    project: options.project,
    executor,
    services: options.services,
    upstream: new Map([...options.upstream].map(([id, u]) => [id, u.token])),
    force: options.force,
    signal: options.signal,
  });
}

/**
 * A step found fresh the long way gets a stamp for next time. Under the step's lock, and only if the
 * record is still the one decided on: a stamp must never vouch for a record another run dropped.
 */
async function refreshStamp(options: ExecuteStepOptions, decided: Decided): Promise<void> {
  const { project, step } = options;
  const attempt = await acquireStepLock(project.stateDir, step.id);
  if (!attempt.ok || !('held' in attempt.value)) return;
  const lock = attempt.value.held;
  try {
    const record = readRecord(project.stateDir, step.id);
    if (record?.hash === decided.decision.hash) {
      await writeStamp({ stateDir: project.stateDir, id: step.id, run: record, digests: decided.digests });
    }
  } finally {
    await lock.release();
  }
}

async function runExecutor(
  options: ExecuteStepOptions,
  executor: StepExecutor,
  log: StepLog,
  fingerprint: ExecutorContext['fingerprint'],
) {
  const { step, project, emit } = options;
  const tmp = await mkdtemp(join(tmpdir(), `kiwibox-${step.id.replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
  // A second Ctrl-C exits without unwinding this function: the exit hook removes the dir then.
  const forget = removeOnExit(tmp);
  const ctx: ExecutorContext = {
    project,
    signal: options.signal,
    tmpDir: tmp,
    ...(fingerprint ? { fingerprint } : {}),
    upstream: new Map([...options.upstream].map(([id, u]) => [id, u.outputs])),
    output: (line, stream = 'stdout') => {
      log.line(line);
      emit({ type: 'step-output', step: step.id, stream, line });
    },
    progress: (phase, detail) => {
      emit({ type: 'step-progress', step: step.id, phase, ...(detail === undefined ? {} : { detail }) });
    },
  };
  try {
    return await executor.run(step, ctx);
  } catch (error) {
    // An executor that throws has a bug; the step fails, the run goes on, the stack is in the log.
    log.line(error instanceof Error ? (error.stack ?? error.message) : String(error));
    const failure: Failure = {
      step: step.id,
      reason: 'internal-error',
      message: `internal error: ${errorMessage(error)}`,
    };
    return { ok: false as const, error: [failure] };
  } finally {
    await rm(tmp, { recursive: true, force: true });
    forget();
  }
}

export async function executeStep(options: ExecuteStepOptions): Promise<StepOutcome> {
  const { step, project, emit } = options;
  const started = Date.now();
  const failed = (failures: readonly Failure[], log?: string): StepOutcome => {
    const withStep = failures.map((f) => ({ ...f, step: f.step ?? step.id }));
    emit({
      type: 'step-failed',
      step: step.id,
      kind: step.kind,
      durationMs: Date.now() - started,
      failures: withStep,
      log,
    });
    return { status: 'failed' };
  };
  const fresh = (decision: { readonly record: LastRun }): StepOutcome => {
    emit({ type: 'step-fresh', step: step.id, kind: step.kind });
    return {
      status: 'ok',
      outputs: recordedOutputs(decision.record, project.dir),
      token: upstreamToken(decision.record),
    };
  };
  const executor = options.lookup(step);
  if (!executor) {
    return failed([
      {
        reason: 'no-executor',
        message: `no executor for ${step.kind} steps like '${step.id}' in this build of kiwibox`,
      },
    ]);
  }
  let decided = await decideStep(options, executor);
  if (!decided.ok) return failed(decided.error);
  if (decided.value.decision.kind !== 'run') {
    if (decided.value.staleStamp) await refreshStamp(options, decided.value);
    return fresh(decided.value.decision);
  }
  // Files may change from here on: no step of this run reuses another's inputs any more.
  options.services.inputs?.disable();

  const attempt = await acquireStepLock(project.stateDir, step.id);
  if (!attempt.ok) return failed(attempt.error);
  if (!('held' in attempt.value))
    return failed([
      { reason: 'locked', message: `another kiwibox (pid ${attempt.value.owner}) is running '${step.id}'` },
    ]);
  const lock = attempt.value.held;
  try {
    decided = await decideStep(options, executor);
    if (!decided.ok) return failed(decided.error);
    const { decision, inputStats, digests } = decided.value;
    if (decision.kind !== 'run') return fresh(decision);
    const { fingerprint } = decision;
    await dropRecord(project.stateDir, step.id);
    const record = (outputs: StepOutputs, durationMs: number) =>
      writeRecord({
        stateDir: project.stateDir,
        projectDir: project.dir,
        id: step.id,
        fingerprint,
        hash: decision.hash,
        outputs,
        cache: options.services.cache,
        durationMs,
        inputStats,
        digests,
      });
    const { teamCache } = options;
    if (teamCache && !options.force) {
      const restored = await teamCache.restore({
        step,
        project,
        key: decision.hash,
        signal: options.signal,
        emit,
        hashes: options.services.cache,
      });
      if (restored) {
        const written = await record(restored.outputs, restored.savedMs);
        emit({
          type: 'step-restored',
          step: step.id,
          kind: step.kind,
          durationMs: Date.now() - started,
          bytes: restored.bytes,
          savedMs: restored.savedMs,
          store: teamCache.store.name,
        });
        return {
          status: 'ok',
          outputs: recordedOutputs(written, project.dir),
          token: upstreamToken(written),
        };
      }
    }
    emit({ type: 'step-started', step: step.id, kind: step.kind, reasons: decision.reasons });
    const log = new StepLog(project.stateDir, step.id);
    const result = await runExecutor(options, executor, log, {
      hash: decision.hash,
      platform: fingerprint.platform,
      tools: fingerprint.tools,
      parts: fingerprintParts(fingerprint),
    });
    if (!result.ok) {
      for (const f of result.error) log.line(`error[${f.reason}]: ${f.message}`);
      await log.close();
      return failed(result.error, log.path);
    }
    await log.close();
    const written = await record(result.value, Date.now() - started);
    emit({ type: 'step-succeeded', step: step.id, kind: step.kind, durationMs: Date.now() - started });
    await teamCache?.upload({ step, project, record: written, signal: options.signal, emit });
    return { status: 'ok', outputs: recordedOutputs(written, project.dir), token: upstreamToken(written) };
  } finally {
    await lock.release();
  }
}
