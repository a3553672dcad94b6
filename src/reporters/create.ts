import { NdjsonReporter } from './ndjson.js';
import { PlainReporter } from './plain.js';
import { ProfileReporter } from './profile.js';
import type { Reporter, ReporterName } from './reporter.js';
import { useColor } from './reporter.js';

/** The reporter to use when none is asked for: the status line on a terminal, plain lines elsewhere. */
export function defaultReporter(env: NodeJS.ProcessEnv = process.env): ReporterName {
  return process.stderr.isTTY && !env.CI ? 'status' : 'plain';
}

/** The status reporter (and log-update with it) is loaded only for a terminal. */
export async function createReporter(name: ReporterName, cwd: string): Promise<Reporter> {
  switch (name) {
    case 'ndjson':
      return new NdjsonReporter({ out: process.stdout });
    case 'status':
      if (process.stderr.isTTY) {
        const { StatusReporter } = await import('./status.js');
        return new StatusReporter({ out: process.stderr, cwd, color: useColor(process.stderr) });
      }
      return new PlainReporter({ out: process.stdout, cwd, color: useColor(process.stdout) });
    case 'plain':
      return new PlainReporter({ out: process.stdout, cwd, color: useColor(process.stdout) });
  }
}

/** `reporter`, plus the profile reporter writing `profile` (`--profile FILE`) when one is given. */
export function withProfile(reporter: Reporter, profile: string | undefined): Reporter {
  if (profile === undefined) return reporter;
  const trace = new ProfileReporter({
    file: profile,
    onError: (message) => process.stderr.write(`kiwibox: ${message}\n`),
  });
  return {
    event: (event) => {
      reporter.event(event);
      trace.event(event);
    },
    close: () => {
      trace.close();
      reporter.close();
    },
  };
}
