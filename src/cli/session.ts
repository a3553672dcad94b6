import { openTeamCache } from '../cache/team-cache.js';
import { type LoadedProject, loadProject } from '../config/load.js';
import type { ExecutorLookup } from '../core/executor.js';
import type { Failure } from '../core/result.js';
import { fail, ok, type Result } from '../core/result.js';
import { executorsFor } from '../executors/index.js';
import type { FingerprintServices } from '../fingerprint/decide.js';
import { selectSteps } from '../graph/graph.js';
import type { Output } from '../reporters/output.js';
import { type PlannedStep, planSteps } from '../scheduler/plan.js';
import { DirListings } from '../state/dir-cache.js';
import { HashCache } from '../state/hash-cache.js';
import { dirCacheFile, hashCacheFile, toolsFile } from '../state/layout.js';
import { ToolVersions } from '../state/tools.js';
import type { GlobalOptions } from './options.js';

export interface Session extends LoadedProject {
  readonly lookup: ExecutorLookup;
  readonly services: FingerprintServices;
  /** Selected steps with their dependencies, in topological order. */
  readonly order: readonly string[];
}

export function fingerprintServices(stateDir: string): FingerprintServices {
  return {
    cache: HashCache.load(hashCacheFile(stateDir)),
    tools: new ToolVersions(toolsFile(stateDir)),
    listings: new DirListings(dirCacheFile(stateDir)),
  };
}

export async function openSession(
  options: GlobalOptions,
  targets: readonly string[],
  access: { readonly readOnly?: boolean } = {},
): Promise<Result<Session, Failure[]>> {
  const loaded = await loadProject({ file: options.file, cache: true, readOnly: access.readOnly });
  if (!loaded.ok) return loaded;
  const order = selectSteps(loaded.value.project, loaded.value.graph, targets);
  if (!order.ok) return fail(order.error);
  return ok({
    ...loaded.value,
    lookup: await executorsFor(loaded.value.project),
    services: fingerprintServices(loaded.value.project.stateDir),
    order: order.value,
  });
}

/** Opens a session and plans it (what `plan` and `why` show); bad input is printed here. */
export async function planSession(options: {
  readonly global: GlobalOptions;
  readonly targets: readonly string[];
  readonly force: boolean;
  readonly out: Output;
}): Promise<{ session: Session; planned: PlannedStep[] } | undefined> {
  const session = await openSession(options.global, options.targets, { readOnly: true });
  if (!session.ok) {
    options.out.failures(session.error);
    return undefined;
  }
  const { project, order, lookup, services } = session.value;
  const cache = openTeamCache({ project, flags: options.global.cache, cwd: options.global.cwd });
  if (!cache.ok) {
    options.out.failures(cache.error);
    return undefined;
  }
  try {
    const planned = await planSteps({
      project,
      order,
      lookup,
      services,
      force: options.force,
      signal: new AbortController().signal,
      shareInputs: true,
      ...(cache.value ? { teamCache: cache.value } : {}),
    });
    return { session: session.value, planned };
  } finally {
    await cache.value?.close();
  }
}
