/**
 * Fingerprint a step and decide whether it is fresh: shared by `run`, `plan` and `why`. When the
 * step's stamp vouches for its inputs and config, the fingerprint is not built at all (a no-op run
 * of a large pipeline is mostly this shortcut).
 */
import { createHash } from 'node:crypto';
import type { RerunReason } from '../core/events.js';
import type { StepExecutor, StepOutputs } from '../core/executor.js';
import type { Project, Step } from '../core/model.js';
import { fail, ok, type Result } from '../core/result.js';
import type { DirListings } from '../state/dir-cache.js';
import type { HashCache } from '../state/hash-cache.js';
import {
  checkOutputs,
  type Fingerprint,
  type LastRun,
  readRecord,
  readStamp,
  recordedOutputs,
  type StampDigests,
  type StatKey,
} from '../state/record.js';
import type { ToolVersions } from '../state/tools.js';
import { explainFingerprints } from './explain.js';
import { fingerprintHash, makeFingerprint, normaliseConfig } from './fingerprint.js';
import { hashInputs, InputMemo, inputsDigest, type StatedInput, statInputs } from './inputs.js';
import { listInputs } from './list-inputs.js';

export interface FingerprintServices {
  readonly cache: HashCache;
  readonly tools: ToolVersions;
  /** Directory listings reused between runs (see state/dir-cache.ts). */
  readonly listings: DirListings;
  /** Inputs shared by several steps of one run (runSteps sets it). */
  readonly inputs?: InputMemo;
}

/** What a finished (or fresh) step passes to its dependents' fingerprints. */
export function upstreamToken(run: LastRun): string {
  const outputs = run.outputs.files.map((f) => `${f.path}:${f.sha256}`).join('\n');
  return createHash('sha256')
    .update(`${run.hash}\n${outputs}\n${JSON.stringify(run.outputs.data)}`)
    .digest('hex');
}

interface Options {
  readonly step: Step;
  readonly project: Project;
  readonly executor: StepExecutor;
  readonly services: FingerprintServices;
  /** Upstream step id → upstream token (see upstreamToken). */
  readonly upstream: ReadonlyMap<string, string>;
  readonly force: boolean;
  readonly signal: AbortSignal;
}

/** Everything of the fingerprint but the file hashes, which only the stats stand for so far. */
interface Probe {
  readonly inputs: StatedInput[];
  readonly rest: Omit<Fingerprint, 'format' | 'platform' | 'files'>;
  readonly digests: StampDigests;
}

async function probe(options: Options): Promise<Result<Probe>> {
  const { step, project, executor, services } = options;
  const inputs = await statedInputs(options);
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
  const rest = { kind: step.kind, config: normaliseConfig(step, project.dir), tools, upstream, extra };
  const digests = {
    rest: fingerprintHash(makeFingerprint({ ...rest, files: {} })),
    inputs: inputsDigest(inputs),
  };
  return ok({ inputs, rest, digests });
}

async function statedInputs(options: Options): Promise<StatedInput[]> {
  const { step, project, executor, services } = options;
  const spec = executor.inputs(step, project);
  const key = services.inputs ? InputMemo.keyOf(spec) : '';
  const known = services.inputs?.get(key);
  if (known) return known;
  const inputs = listInputs(spec, project.dir, services.listings).then((files) =>
    statInputs(files, project.dir),
  );
  services.inputs?.set(key, inputs);
  return inputs;
}

/**
 * Fresh or not. `fresh-by-stamp`: the stamp vouched that the fingerprint equals the last run's, so
 * none was built. `fresh`: the fingerprint was built and matches. `run`: the step runs, for `reasons`.
 */
export type Decision =
  | {
      readonly kind: 'fresh-by-stamp';
      readonly hash: string;
      readonly record: LastRun;
      readonly reasons: readonly [];
    }
  | {
      readonly kind: 'fresh';
      readonly fingerprint: Fingerprint;
      readonly hash: string;
      readonly record: LastRun;
      readonly reasons: readonly [];
    }
  | {
      readonly kind: 'run';
      readonly fingerprint: Fingerprint;
      readonly hash: string;
      /** Never empty. */
      readonly reasons: readonly RerunReason[];
      /** The last successful run, if any. */
      readonly record?: LastRun;
    };

/** Recorded outputs still there and (for non-file outputs) still valid? */
async function outputReasons(options: Options, run: LastRun): Promise<RerunReason[]> {
  const { step, project, executor } = options;
  const reasons = await checkOutputs(run, project.dir);
  if (!reasons.length && executor.stillValid) {
    const outputs: StepOutputs = recordedOutputs(run, project.dir);
    if (!(await executor.stillValid(step, outputs, project))) {
      reasons.push({ type: 'output-invalid', detail: JSON.stringify(run.outputs.data) });
    }
  }
  return reasons;
}

/** A decision plus what to record (input stats, stamp digests) if the step then runs. */
export interface Decided {
  readonly decision: Decision;
  /** Empty when the stamp vouched (the step is fresh: nothing gets recorded). */
  readonly inputStats: Record<string, StatKey>;
  readonly digests: StampDigests;
  /** Fresh, but the stamp is missing or was taken at other stats: worth writing again. */
  readonly staleStamp: boolean;
}

/** Reads the step's stamp (or record), fingerprints the step if needed and decides. */
export async function fingerprintAndDecide(options: Options): Promise<Result<Decided>> {
  const { step, project } = options;
  const probed = await probe(options);
  if (!probed.ok) return probed;
  const { rest, inputs, digests } = probed.value;
  const stamp = readStamp(project.stateDir, step.id);
  const vouched = stamp?.rest === digests.rest && stamp.inputs === digests.inputs;
  if (stamp && vouched && !options.force && !(await outputReasons(options, stamp)).length) {
    const decision: Decision = { kind: 'fresh-by-stamp', hash: stamp.hash, reasons: [], record: stamp };
    return ok({ decision, inputStats: {}, digests, staleStamp: false });
  }

  const record = readRecord(project.stateDir, step.id);
  const known = record?.inputStats
    ? { files: record.fingerprint.files, stats: record.inputStats }
    : undefined;
  const { hashes, stats } = await hashInputs({ inputs, cache: options.services.cache, known });
  const fingerprint = makeFingerprint({ ...rest, files: hashes });
  const hash = fingerprintHash(fingerprint);
  const decided = (reasons: readonly RerunReason[], last?: LastRun): Result<Decided> =>
    ok({
      decision:
        reasons.length || !last
          ? { kind: 'run', fingerprint, hash, reasons, record: last }
          : { kind: 'fresh', fingerprint, hash, reasons: [], record: last },
      inputStats: stats,
      digests,
      staleStamp:
        !reasons.length &&
        (stamp?.hash !== hash || stamp.rest !== digests.rest || stamp.inputs !== digests.inputs),
    });
  if (options.force) return decided([{ type: 'forced' }], record);
  if (!record) return decided([{ type: 'never-ran' }]);
  if (record.hash !== hash) {
    const reasons = explainFingerprints(record.fingerprint, fingerprint);
    // A hash mismatch with no visible field difference can only be a format difference.
    return decided(reasons.length ? reasons : [{ type: 'format-changed' }], record);
  }
  return decided(await outputReasons(options, record), record);
}
