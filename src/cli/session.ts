/**
 * What most commands start with: load and validate the file (diagnostics → exit 2), then build the
 * fingerprint services for the project's state dir.
 */
import { join } from 'node:path';
import { type LoadedProject, loadProject } from '../config/load.js';
import type { Failure } from '../core/result.js';
import { fail, ok, type Result } from '../core/result.js';
import { allExecutors } from '../executors/all.js';
import type { ExecutorLookup } from '../executors/registry.js';
import type { FingerprintServices } from '../fingerprint/decide.js';
import { HashCache } from '../fingerprint/hash-cache.js';
import { ToolVersions } from '../fingerprint/tools.js';
import { selectSteps } from '../graph/graph.js';
import type { GlobalOptions } from './options.js';

export interface Session extends LoadedProject {
  readonly lookup: ExecutorLookup;
  readonly services: FingerprintServices;
  /** Selected steps with their dependencies, in topological order. */
  readonly order: readonly string[];
}

export function fingerprintServices(stateDir: string): FingerprintServices {
  return {
    cache: HashCache.load(join(stateDir, 'hash-cache.json')),
    tools: new ToolVersions(join(stateDir, 'tools.json')),
  };
}

export async function openSession(
  options: GlobalOptions,
  targets: readonly string[],
): Promise<Result<Session, Failure[]>> {
  const loaded = await loadProject({ file: options.file });
  if (!loaded.ok) return loaded;
  const order = selectSteps(loaded.value.project, loaded.value.graph, targets);
  if (!order.ok) return fail(order.error);
  return ok({
    ...loaded.value,
    lookup: allExecutors(),
    services: fingerprintServices(loaded.value.project.stateDir),
    order: order.value,
  });
}
