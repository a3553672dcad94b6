/**
 * One step, start to end: lock → fingerprint → fresh? → run → record. Emits the step's events.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Project, Step } from '../config/model.js';
import type { Emit } from '../core/events.js';
import type { Failure } from '../core/result.js';
import { errorMessage } from '../core/result.js';
import type { ExecutorLookup } from '../executors/registry.js';
import type { StepOutputs } from '../executors/types.js';
import {
  computeFingerprint,
  decide,
  type FingerprintServices,
  upstreamToken,
} from '../fingerprint/decide.js';
import { dropRecord, recordedOutputs, writeRecord } from '../fingerprint/state.js';
import { acquireStepLock } from './lock.js';
import { StepLog } from './step-log.js';

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
}

export async function executeStep(options: ExecuteStepOptions): Promise<StepOutcome> {
  const { step, project, emit } = options;
  const started = Date.now();
  const failed = (failures: Failure[], log?: string): StepOutcome => {
    emit({
      type: 'step-failed',
      step: step.id,
      kind: step.kind,
      durationMs: Date.now() - started,
      failures,
      log,
    });
    return { status: 'failed' };
  };
  const executor = options.lookup(step);
  if (!executor) {
    return failed([
      {
        step: step.id,
        reason: 'no-executor',
        message: `no executor for ${step.kind} steps like '${step.id}' in this build of kiwibox`,
      },
    ]);
  }
  const lock = acquireStepLock(project.stateDir, step.id);
  if ('owner' in lock) {
    return failed([
      {
        step: step.id,
        reason: 'locked',
        message: `another kiwibox (pid ${lock.owner}) is running '${step.id}'`,
      },
    ]);
  }
  try {
    const tokens = new Map([...options.upstream].map(([id, u]) => [id, u.token]));
    const fingerprint = await computeFingerprint({
      step,
      project,
      executor,
      services: options.services,
      upstream: tokens,
      signal: options.signal,
    });
    if (!fingerprint.ok) return failed(fingerprint.error);
    const decision = await decide({
      step,
      project,
      executor,
      fingerprint: fingerprint.value,
      force: options.force,
    });
    if (decision.reasons.length === 0 && decision.record) {
      emit({ type: 'step-fresh', step: step.id, kind: step.kind });
      return {
        status: 'ok',
        outputs: recordedOutputs(decision.record, project.dir),
        token: upstreamToken(decision.record),
      };
    }
    emit({ type: 'step-started', step: step.id, kind: step.kind, reasons: decision.reasons });
    await dropRecord(project.stateDir, step.id);
    const log = new StepLog(project.stateDir, step.id);
    const tmp = await mkdtemp(join(tmpdir(), `kiwibox-${step.id.replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
    let result: Awaited<ReturnType<typeof executor.run>>;
    try {
      result = await executor.run(step, {
        project,
        signal: options.signal,
        tmpDir: tmp,
        upstream: new Map([...options.upstream].map(([id, u]) => [id, u.outputs])),
        output: (line, stream = 'stdout') => {
          log.line(line);
          emit({ type: 'step-output', step: step.id, stream, line });
        },
      });
    } catch (error) {
      log.line(error instanceof Error ? (error.stack ?? error.message) : String(error));
      result = {
        ok: false,
        error: [
          { step: step.id, reason: 'internal-error', message: `internal error: ${errorMessage(error)}` },
        ],
      };
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    if (!result.ok) {
      for (const f of result.error) log.line(`error[${f.reason}]: ${f.message}`);
      await log.close();
      return failed(
        result.error.map((f) => ({ ...f, step: f.step ?? step.id })),
        log.path,
      );
    }
    await log.close();
    const record = await writeRecord({
      stateDir: project.stateDir,
      projectDir: project.dir,
      id: step.id,
      fingerprint: decision.fingerprint,
      hash: decision.hash,
      outputs: result.value,
      cache: options.services.cache,
      durationMs: Date.now() - started,
    });
    emit({ type: 'step-succeeded', step: step.id, kind: step.kind, durationMs: Date.now() - started });
    return { status: 'ok', outputs: recordedOutputs(record, project.dir), token: upstreamToken(record) };
  } finally {
    lock.release();
  }
}
