/**
 * Options every command shares, after commander parsed them.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { CacheFlags } from '../cache/settings.js';
import type { ReporterName } from '../reporters/reporter.js';

export interface GlobalOptions {
  /** Absolute path of kiwibox.yaml. */
  readonly file: string;
  readonly cwd: string;
  readonly jobs: number;
  readonly keepGoing: boolean;
  readonly force: boolean;
  readonly reporter?: ReporterName;
  /** Team cache overrides (`--cache`, `--cache-mode`, `--cache-key-file`, `--cache-namespace`). */
  readonly cache: CacheFlags;
}

export interface RawGlobalOptions {
  file?: string;
  directory?: string;
  jobs?: number;
  keepGoing?: boolean;
  force?: boolean;
  reporter?: ReporterName;
  cache?: string;
  cacheMode?: string;
  cacheKeyFile?: string;
  cacheNamespace?: string;
}

export function globalOptions(raw: RawGlobalOptions): GlobalOptions {
  const cwd = resolve(raw.directory ?? '.');
  return {
    cwd,
    file: resolve(cwd, raw.file ?? 'kiwibox.yaml'),
    jobs: raw.jobs ?? availableParallelism(),
    keepGoing: raw.keepGoing ?? false,
    force: raw.force ?? false,
    reporter: raw.reporter,
    cache: {
      ...(raw.cache !== undefined ? { store: raw.cache } : {}),
      ...(raw.cacheMode !== undefined ? { mode: raw.cacheMode } : {}),
      ...(raw.cacheKeyFile !== undefined ? { keyFile: resolve(cwd, raw.cacheKeyFile) } : {}),
      ...(raw.cacheNamespace !== undefined ? { namespace: raw.cacheNamespace } : {}),
    },
  };
}

/** Exit codes: documented in README. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, interrupted: 130 } as const;
