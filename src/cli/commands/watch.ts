import { executorsFor } from '../../executors/index.js';
import { createReporter, defaultReporter, withProfile } from '../../reporters/create.js';
import { Watch } from '../../watch/watcher.js';
import { EXIT, type GlobalOptions } from '../options.js';
import { fingerprintServices } from '../session.js';
import { interruptController } from '../signals.js';

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
): Promise<number> {
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
    }).run();
    return EXIT.interrupted;
  } finally {
    interrupt.dispose();
    reporter.close();
  }
}
