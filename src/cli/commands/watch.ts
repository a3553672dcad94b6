import { loadProject } from '../../config/load.js';
import { executorsFor } from '../../executors/index.js';
import { selectSteps } from '../../graph/graph.js';
import { createReporter, defaultReporter, withProfile } from '../../reporters/create.js';
import type { Output } from '../../reporters/output.js';
import { Watch } from '../../watch/watcher.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { fingerprintServices } from '../session.js';
import { interruptController } from '../signals.js';
import { slurmProblem } from '../slurm-preflight.js';

export interface WatchCommandOptions {
  readonly onChange: 'cancel' | 'finish';
  readonly debounceMs: number;
  readonly pollMs?: number;
  /** `--profile FILE` (absolute): every run's timeline, rewritten after each run. */
  readonly profile?: string;
}

/** Runs once, then keeps the selected steps up to date until Ctrl-C. */
export async function watchCommand(
  global: GlobalOptions,
  targets: string[],
  options: WatchCommandOptions,
  out: Output,
): Promise<number> {
  // Ctrl-C during the check (a controller that does not answer) ends `scontrol ping` too.
  const check = interruptController(() => process.exit(EXIT.interrupted));
  const problem = await startProblem(global, targets, check.signal).finally(check.dispose);
  if (check.signal.aborted) return EXIT.interrupted;
  if (problem) {
    out.failures([problem]);
    return EXIT.failed;
  }
  const reporter = withProfile(
    await createReporter(global.reporter ?? defaultReporter(), global.cwd),
    options.profile,
  );
  const interrupt = interruptController(() => {
    reporter.close();
    process.exit(EXIT.interrupted);
  });
  // One cache per state dir for the whole watch: no reloading between runs.
  const services = new Map<string, ReturnType<typeof fingerprintServices>>();
  try {
    await new Watch({
      file: global.file,
      targets,
      lookupFor: (project) => executorsFor(project),
      services: (stateDir) => {
        let s = services.get(stateDir);
        if (!s) {
          s = fingerprintServices(stateDir);
          services.set(stateDir, s);
        }
        return s;
      },
      emit: (event) => reporter.event(event),
      jobs: global.jobs,
      keepGoing: true,
      onChange: options.onChange,
      debounceMs: options.debounceMs,
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
      signal: interrupt.signal,
      serve: true,
    }).run();
    return EXIT.interrupted;
  } finally {
    interrupt.dispose();
    reporter.close();
  }
}

/**
 * `run`'s Slurm check, before the first run. A file that does not load is not reported here: the
 * watch reports it and waits for a fix.
 */
async function startProblem(global: GlobalOptions, targets: readonly string[], signal: AbortSignal) {
  const loaded = await loadProject({ file: global.file, cache: true, readOnly: true });
  if (!loaded.ok || !loaded.value.project.slurm) return undefined;
  const order = selectSteps(loaded.value.project, loaded.value.graph, targets);
  return order.ok ? slurmProblem(loaded.value.project, order.value, signal) : undefined;
}
