import { statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { slurmCacheLink } from '../../cache/slurm-link.js';
import { openTeamCache, type TeamCache } from '../../cache/team-cache.js';
import type { ExecutorLookup } from '../../core/executor.js';
import type { Project, Step } from '../../core/model.js';
import type { Failure } from '../../core/result.js';
import { executorsFor } from '../../executors/index.js';
import { buildGraph, topologicalOrder } from '../../graph/graph.js';
import { createReporter, defaultReporter, withProfile } from '../../reporters/create.js';
import type { Output } from '../../reporters/output.js';
import { runSteps } from '../../scheduler/run.js';
import { stepLogFile } from '../../state/layout.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { fingerprintServices, openSession } from '../session.js';
import { interruptController } from '../signals.js';
import { slurmProblem } from '../slurm-preflight.js';

/** Runs an already validated project (also used by the compatibility commands). */
export async function runProject(options: {
  readonly project: Project;
  readonly order?: readonly string[];
  readonly global: GlobalOptions;
  /** Executors to use instead of the standard set (compatibility switches). */
  readonly lookup?: ExecutorLookup;
  /** kiwi-ng's `--logfile FILE` (compatibility commands): the step logs are copied there afterwards. */
  readonly logfile?: string;
  /** `--profile FILE` (absolute): the run's timeline as a Chrome trace. */
  readonly profile?: string;
  /** The team cache `run` opened (src/cache); compatibility commands run without one. */
  readonly teamCache?: TeamCache;
}): Promise<number> {
  const { project, global } = options;
  const order = options.order ?? topologicalOrder(project, buildGraph(project.steps));
  const reporter = withProfile(
    await createReporter(global.reporter ?? defaultReporter(), global.cwd),
    options.profile,
  );
  const interrupt = interruptController(() => {
    reporter.close();
    process.exit(EXIT.interrupted);
  });
  try {
    const summary = await runSteps({
      project,
      order,
      lookup:
        options.lookup ??
        (await executorsFor(
          project,
          {},
          options.teamCache ? { slurmCache: slurmCacheLink(options.teamCache) } : {},
        )),
      services: fingerprintServices(project.stateDir),
      emit: (event) => reporter.event(event),
      jobs: global.jobs,
      keepGoing: global.keepGoing,
      force: global.force,
      signal: interrupt.signal,
      ...(options.teamCache ? { teamCache: options.teamCache } : {}),
    });
    if (summary.interrupted) return EXIT.interrupted;
    return summary.failed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    await options.teamCache?.close();
    interrupt.dispose();
    reporter.close();
    if (options.logfile) await copyLogs({ stateDir: project.stateDir, order, to: options.logfile });
  }
}

/** Concatenates the step logs of `order` (those that exist) into `to`. */
async function copyLogs(options: { stateDir: string; order: readonly string[]; to: string }): Promise<void> {
  const parts: Buffer[] = [];
  for (const id of options.order) {
    const log = await readFile(stepLogFile(options.stateDir, id)).catch(() => undefined);
    if (log) parts.push(log);
  }
  await mkdir(dirname(options.to), { recursive: true });
  await writeFile(options.to, Buffer.concat(parts));
}

export async function runCommand(
  global: GlobalOptions,
  targets: string[],
  out: Output,
  options: { readonly profile?: string } = {},
): Promise<number> {
  const profile = profileFile(global, options.profile, out);
  if (profile === false) return EXIT.badInput;
  const session = await openSession(global, targets);
  if (!session.ok) {
    out.failures(session.error);
    return EXIT.badInput;
  }
  const { project, order } = session.value;
  const cache = openTeamCache({ project, flags: global.cache, cwd: global.cwd });
  if (!cache.ok) {
    out.failures(cache.error);
    return EXIT.badInput;
  }
  const noCache = await slurmWithoutCache(project, order, cache.value);
  if (noCache) {
    out.failures([noCache]);
    return EXIT.badInput;
  }
  // Ctrl-C during the check (a controller that does not answer) ends `scontrol ping` too.
  const interrupt = interruptController(() => process.exit(EXIT.interrupted));
  const problem = await slurmProblem(project, order, interrupt.signal).finally(interrupt.dispose);
  if (interrupt.signal.aborted) {
    await cache.value?.close();
    return EXIT.interrupted;
  }
  if (problem) {
    out.failures([problem]);
    await cache.value?.close();
    return EXIT.failed;
  }
  return runProject({
    project,
    order,
    global,
    ...(profile ? { profile } : {}),
    ...(cache.value ? { teamCache: cache.value } : {}),
  });
}

/** `--profile FILE` resolved like `--file` (against -C); false (after saying why) for a directory. */
export function profileFile(
  global: GlobalOptions,
  file: string | undefined,
  out: Output,
): string | false | undefined {
  if (file === undefined) return undefined;
  const path = resolve(global.cwd, file);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    out.error(`kiwibox: --profile ${file}: is a directory, not a file to write`);
    return false;
  }
  return path;
}

/** Slurm without a shared filesystem moves data through the team cache: it must be on. */
async function slurmWithoutCache(
  project: Project,
  order: readonly string[],
  cache: TeamCache | undefined,
): Promise<Failure | undefined> {
  const settings = project.slurm;
  if (settings?.sharedFilesystem !== false || cache) return undefined;
  const { runsOnSlurm } = await import('../../config/slurm.js');
  if (!order.some((id) => runsOnSlurm(settings, project.steps.get(id) as Step))) return undefined;
  return {
    reason: 'bad-cache-setting',
    message:
      'slurm: shared-filesystem: false moves step data through the team cache, which this run turned off (--cache-mode off or KIWIBOX_CACHE_MODE=off)',
  };
}
