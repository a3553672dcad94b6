/**
 * `kiwibox __slurm-step --inline REQUEST` (internal): a step's Slurm job on a node without a shared
 * filesystem (executors/slurm/node-data.ts). The node's working copy is not trusted to be current:
 * each dependency's outputs are restored from the team cache by the key the submitter sent, the
 * step's fingerprint must then come out as the submitter's (else it is refused: the working copies
 * differ, and running would give a result for other inputs), the step runs and its entry is
 * uploaded. The verdict is the last stdout line (RESULT_MARK); the data travels in the cache.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { notCacheable } from '../../cache/entry.js';
import { openTeamCache, WRITER } from '../../cache/team-cache.js';
import { uploadEntry } from '../../cache/upload.js';
import { loadProject } from '../../config/load.js';
import type { ExecutorContext, StepOutputs } from '../../core/executor.js';
import { errorMessage, fail, failWith, ok, type Result } from '../../core/result.js';
import { executorsFor } from '../../executors/index.js';
import { type JobResult, PROGRESS_MARK } from '../../executors/slurm/job-files.js';
import {
  decodeRequest,
  escapeMarks,
  nodeVersionFailure,
  RESULT_MARK,
} from '../../executors/slurm/node-data.js';
import { makeScratchDir } from '../../executors/slurm/scratch.js';
import { fingerprintAndDecide } from '../../fingerprint/decide.js';
import { differingParts, fingerprintHash, fingerprintParts } from '../../fingerprint/fingerprint.js';
import type { Output } from '../../reporters/output.js';
import type { Fingerprint } from '../../state/record.js';
import { dropRecord, writeRecord } from '../../state/record.js';
import { StepLog } from '../../state/step-log.js';
import { EXIT } from '../options.js';
import { fingerprintServices } from '../session.js';
import { interruptController } from '../signals.js';
import { cacheFailure, lockOwn, messages, type Node, restoreUpstream } from './slurm-node-upstream.js';

/** Runs the step (its fingerprint already checked), records it on the node and uploads its entry. */
async function runAndUpload(
  node: Node,
  upstream: ReadonlyMap<string, StepOutputs>,
  record: (outputs: StepOutputs, durationMs: number) => ReturnType<typeof writeRecord>,
): Promise<Result<StepOutputs>> {
  const { project, step, cache, signal } = node;
  if (!cache.writes) {
    return cacheFailure(
      node,
      'the node may not write the team cache (mode read-only, or no signing key: KIWIBOX_CACHE_KEY_FILE is exported to the job if set where kiwibox runs)',
    );
  }
  await dropRecord(project.stateDir, step.id);
  const started = Date.now();
  const log = new StepLog(project.stateDir, step.id);
  const tmp = await makeScratchDir();
  const ctx: ExecutorContext = {
    project,
    signal,
    tmpDir: tmp,
    fingerprint: { hash: node.request.hash, platform: node.request.platform, tools: node.request.tools },
    upstream,
    output: (line, stream = 'stdout') => {
      log.line(line);
      (stream === 'stderr' ? process.stderr : process.stdout).write(`${escapeMarks(line)}\n`);
    },
    progress: (phase, detail) => process.stdout.write(`${PROGRESS_MARK}${JSON.stringify([phase, detail])}\n`),
  };
  let ran: Result<StepOutputs>;
  try {
    ran = await node.executor.run(step, ctx);
  } catch (error) {
    ran = failWith({
      step: step.id,
      reason: 'internal-error',
      message: `internal error: ${errorMessage(error)}`,
    });
  } finally {
    await log.close();
    await rm(tmp, { recursive: true, force: true });
  }
  if (!ran.ok) return ran;
  const written = await record(ran.value, Date.now() - started);
  const why = notCacheable(step, written);
  if (why) return cacheFailure(node, `the result cannot go through the team cache: ${why}`);
  const uploaded = await uploadEntry({
    store: cache.store,
    config: cache.config,
    step,
    project,
    record: written,
    writer: WRITER,
    signal,
  });
  return uploaded.ok ? ran : cacheFailure(node, `uploading the result: ${messages(uploaded.error)}`);
}

/** Tools whose version here is not the submitting side's: worth a line in the step's log. */
function toolNotes(
  here: Readonly<Record<string, string>>,
  there: Readonly<Record<string, string>>,
): string[] {
  return Object.entries(here)
    .filter(([tool, version]) => there[tool] !== undefined && there[tool] !== version)
    .map(
      ([tool, version]) =>
        `kiwibox: ${tool} on this node is '${version}', on the submitting side '${there[tool]}'; the fingerprint keeps the submitting side's`,
    );
}

/** What a refused step's fingerprint differs in, from the submitter's part digests when sent. */
function whatDiffers(fingerprint: Fingerprint, theirs: Readonly<Record<string, string>> | undefined): string {
  if (!theirs) return 'its input files, kiwibox.yaml or a box differ there';
  const names = differingParts(fingerprintParts(fingerprint), theirs);
  const said = names.map((name) => {
    if (name === 'files') return 'the input files';
    if (name === 'config') return "the step's settings in kiwibox.yaml";
    if (name === 'extra') return 'what its executor adds (a box, a base image, a description)';
    const dep = name.startsWith('upstream ') ? name.slice('upstream '.length) : undefined;
    if (dep)
      return `dependency '${dep}' (its team-cache entry's outputs differ from the submitting side's record: built again with another result, a step that is not reproducible?)`;
    return name;
  });
  return said.length
    ? `it differs in ${said.join(', ')}`
    : 'its parts are equal, its hash not (another kiwibox?)';
}

const ctxLine = (line: string) => process.stderr.write(`${line}\n`);

async function runStep(node: Node): Promise<Result<StepOutputs>> {
  const { project, step, signal, request } = node;
  // The step's lock first, so a refused job has restored nothing over the copy.
  const lock = await lockOwn(project, step.id);
  if (!lock.ok) return lock;
  try {
    const upstream = await restoreUpstream(node);
    if (!upstream.ok) return upstream;
    const decided = await fingerprintAndDecide({
      step,
      project,
      executor: node.executor,
      services: node.services,
      upstream: upstream.value.tokens,
      force: true,
      signal,
    });
    if (!decided.ok) return decided;
    const { decision, inputStats, digests } = decided.value;
    if (decision.kind !== 'run')
      return failWith({ reason: 'internal-error', message: 'a forced step is fresh' });
    // The machine's parts are the submitting side's, as with a shared filesystem (where the
    // submitter fingerprints what the node runs): an aarch64 node runs an x86_64 host's steps.
    for (const line of toolNotes(decision.fingerprint.tools, request.tools)) ctxLine(line);
    const fingerprint = { ...decision.fingerprint, platform: request.platform, tools: request.tools };
    const hash = fingerprintHash(fingerprint);
    if (hash !== request.hash) {
      return failWith({
        step: step.id,
        reason: 'slurm-node-inputs-differ',
        message: `the node's working copy (${project.dir}) gives '${step.id}' fingerprint ${hash.slice(0, 12)}, the submitting side ${request.hash.slice(0, 12)}: ${whatDiffers(fingerprint, request.parts)}; nothing was run`,
      });
    }
    // Always run, even if the cache has the entry by now: the submitter only sends a step it found
    // neither fresh nor in the cache, or one it was told to run (--force).
    return await runAndUpload(node, upstream.value.outputs, (outputs, durationMs) =>
      writeRecord({
        stateDir: project.stateDir,
        projectDir: project.dir,
        id: step.id,
        fingerprint,
        hash,
        outputs,
        cache: node.services.cache,
        durationMs,
        inputStats,
        digests,
      }),
    );
  } finally {
    await lock.value.release();
  }
}

async function openNode(text: string, signal: AbortSignal): Promise<Result<Node>> {
  const request = decodeRequest(text);
  if (!request.ok) return request;
  const otherVersion = nodeVersionFailure(request.value);
  if (otherVersion) return fail([otherVersion]);
  const { dir, file, step: id } = request.value;
  const loaded = await loadProject({ file: join(dir, file), cache: true, readOnly: true });
  if (!loaded.ok) return fail(loaded.error);
  // The node runs the step itself: the project without `slurm:` gives the local executors.
  const project = { ...loaded.value.project, slurm: undefined };
  const step = project.steps.get(id);
  const lookup = await executorsFor(project);
  const executor = step && lookup(step);
  if (!step || !executor) {
    return failWith({
      step: id,
      reason: 'no-executor',
      message: `no step '${id}' to run in ${project.file}`,
    });
  }
  const cache = openTeamCache({ project, env: process.env, cwd: project.dir });
  if (!cache.ok) return cacheFailure({ request: request.value }, messages(cache.error));
  if (!cache.value)
    return cacheFailure(
      { request: request.value },
      `no team cache is configured for ${project.file} on the node`,
    );
  const services = fingerprintServices(project.stateDir);
  return ok({
    request: request.value,
    project,
    step,
    executor,
    lookup,
    cache: cache.value,
    services,
    signal,
  });
}

export async function slurmNodeCommand(text: string, _out: Output): Promise<number> {
  // scancel sends SIGTERM: the step's processes and VMs are stopped the same way as on Ctrl-C.
  const interrupt = interruptController(() => process.exit(EXIT.interrupted));
  const jobId = process.env.SLURM_JOB_ID ?? '';
  let result: Result<StepOutputs>;
  let node: Result<Node> | undefined;
  try {
    // Inside the try: whatever goes wrong, the submitter gets a verdict line naming it.
    node = await openNode(text, interrupt.signal);
    result = node.ok ? await runStep(node.value) : node;
  } catch (error) {
    result = failWith({ reason: 'internal-error', message: `internal error: ${errorMessage(error)}` });
  } finally {
    if (node?.ok) await node.value.cache.close();
    interrupt.dispose();
  }
  const line: JobResult = result.ok
    ? { v: 1, jobId, ok: true, outputs: result.value }
    : { v: 1, jobId, ok: false, failures: result.error };
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(line)}\n`);
  return result.ok ? EXIT.ok : EXIT.failed;
}
