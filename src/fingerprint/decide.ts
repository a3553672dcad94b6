/**
 * Fingerprint a step and decide whether it is fresh: shared by `run`, `plan` and `why`.
 */
import { createHash } from 'node:crypto';
import type { Project, Step } from '../config/model.js';
import { fail, ok, type Result } from '../core/result.js';
import type { StepExecutor, StepOutputs } from '../executors/types.js';
import { explainFingerprints, type Reason } from './explain.js';
import { type Fingerprint, fingerprintHash, makeFingerprint, normaliseConfig } from './fingerprint.js';
import type { HashCache } from './hash-cache.js';
import { hashInputs, listInputs, type StatKey } from './inputs.js';
import { checkOutputs, readRecord, recordedOutputs, type StepRecord } from './state.js';
import type { ToolVersions } from './tools.js';

export interface FingerprintServices {
  readonly cache: HashCache;
  readonly tools: ToolVersions;
}

/** What a finished (or fresh) step passes to its dependents' fingerprints. */
export function upstreamToken(record: StepRecord): string {
  const outputs = record.outputs.files.map((f) => `${f.path}:${f.sha256}`).join('\n');
  return createHash('sha256')
    .update(`${record.hash}\n${outputs}\n${JSON.stringify(record.outputs.data)}`)
    .digest('hex');
}

export async function computeFingerprint(options: {
  readonly step: Step;
  readonly project: Project;
  readonly executor: StepExecutor;
  readonly services: FingerprintServices;
  /** Upstream step id → upstream token (see upstreamToken). */
  readonly upstream: ReadonlyMap<string, string>;
  readonly signal: AbortSignal;
  /** The step's last record: its input stats spare re-hashing unchanged files. */
  readonly record?: StepRecord;
}): Promise<Result<{ fingerprint: Fingerprint; inputStats: Record<string, StatKey> }>> {
  const { step, project, executor, services, record } = options;
  const files = await listInputs(executor.inputs(step, project), project.dir);
  const known = record?.inputStats
    ? { files: record.fingerprint.files, stats: record.inputStats }
    : undefined;
  const { hashes, stats } = await hashInputs({
    files,
    projectDir: project.dir,
    cache: services.cache,
    known,
  });
  const tools: Record<string, string> = {};
  for (const tool of executor.tools(step, project)) tools[tool] = await services.tools.version(tool);
  let extra: Record<string, string> = {};
  if (executor.extra) {
    const got = await executor.extra(step, { project, signal: options.signal });
    if (!got.ok) return fail(got.error.map((f) => ({ ...f, step: f.step ?? step.id })));
    extra = got.value;
  }
  const upstream: Record<string, string> = {};
  for (const dep of step.deps) upstream[dep] = options.upstream.get(dep) ?? 'unknown';
  const fingerprint = makeFingerprint({
    kind: step.kind,
    config: normaliseConfig(step, project.dir),
    files: hashes,
    tools,
    upstream,
    extra,
  });
  return ok({ fingerprint, inputStats: stats });
}

export interface Decision {
  readonly fingerprint: Fingerprint;
  readonly hash: string;
  /** Empty when fresh. */
  readonly reasons: readonly Reason[];
  readonly record?: StepRecord;
}

/** Compares the current fingerprint with the last successful run's record and its outputs. */
export async function decide(options: {
  readonly step: Step;
  readonly project: Project;
  readonly executor: StepExecutor;
  readonly fingerprint: Fingerprint;
  /** The step's last record (readRecord), if any. */
  readonly record: StepRecord | undefined;
  readonly force: boolean;
}): Promise<Decision> {
  const { step, project, fingerprint, record } = options;
  const hash = fingerprintHash(fingerprint);
  if (options.force) return { fingerprint, hash, reasons: [{ type: 'forced' }], record };
  if (!record) return { fingerprint, hash, reasons: [{ type: 'never-ran' }] };
  if (record.hash !== hash) {
    const reasons = explainFingerprints(record.fingerprint, fingerprint);
    // A hash mismatch with no visible field difference can only be a format difference.
    return { fingerprint, hash, reasons: reasons.length ? reasons : [{ type: 'format-changed' }], record };
  }
  const reasons = await checkOutputs(record, project.dir);
  if (!reasons.length && options.executor.stillValid) {
    const outputs: StepOutputs = recordedOutputs(record, project.dir);
    if (!(await options.executor.stillValid(step, outputs, project))) {
      reasons.push({ type: 'output-invalid', detail: JSON.stringify(record.outputs.data) });
    }
  }
  return { fingerprint, hash, reasons, record };
}

/** A decision plus the input stats to record if the step then runs. */
export interface Decided {
  readonly decision: Decision;
  readonly inputStats: Record<string, StatKey>;
}

/** Reads the step's record, fingerprints the step and decides: what `run` and `plan` both do. */
export async function fingerprintAndDecide(options: {
  readonly step: Step;
  readonly project: Project;
  readonly executor: StepExecutor;
  readonly services: FingerprintServices;
  /** Upstream step id → upstream token (see upstreamToken). */
  readonly upstream: ReadonlyMap<string, string>;
  readonly force: boolean;
  readonly signal: AbortSignal;
}): Promise<Result<Decided>> {
  const { step, project, executor } = options;
  const record = readRecord(project.stateDir, step.id);
  const computed = await computeFingerprint({ ...options, record });
  if (!computed.ok) return computed;
  const decision = await decide({
    step,
    project,
    executor,
    fingerprint: computed.value.fingerprint,
    record,
    force: options.force,
  });
  return ok({ decision, inputStats: computed.value.inputStats });
}
