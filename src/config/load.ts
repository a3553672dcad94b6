/**
 * kiwibox.yaml → validated Project and graph, or every problem found at once. Nothing runs before
 * this succeeds. An unchanged file is answered from the analysis cache (see analysis-cache.ts).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Project } from '../core/model.js';
import { errorMessage, fail, ok, type Result } from '../core/result.js';
import { rememberSource } from '../core/source.js';
import { buildGraph, type StepGraph } from '../graph/graph.js';
import { AnalysisCache } from './analysis-cache.js';

export interface LoadedProject {
  readonly project: Project;
  readonly graph: StepGraph;
}

export interface LoadOptions {
  readonly file: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Skip checks that read description dirs (tests of pure YAML handling). */
  readonly skipFileChecks?: boolean;
  /** Use (and refresh) the analysis cache in `.kiwibox/`. */
  readonly cache?: boolean;
  /** Read the cache but never write it (commands that only look write nothing). */
  readonly readOnly?: boolean;
}

/** Steps whose checks read other files: they are re-checked on a cache hit. */
async function recheckFiles(project: Project): Promise<boolean> {
  const steps = [...project.steps.values()];
  if (steps.every((s) => s.kind === 'task')) return true;
  const { checkSteps, locateByFields } = await import('./check-steps.js');
  return checkSteps(steps, locateByFields).length === 0;
}

/** Loads, validates and analyses a kiwibox.yaml. */
export async function loadProject(options: LoadOptions): Promise<Result<LoadedProject>> {
  const file = resolve(options.file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return fail([{ reason: 'missing-file', message: `cannot read ${file}: ${errorMessage(error)}` }]);
  }
  rememberSource(file, text);
  const env = options.env ?? process.env;
  const cache = options.cache && !options.skipFileChecks ? new AnalysisCache({ file, text }) : undefined;
  const cached = cache?.read(env);
  // A failed re-check falls through to the full analysis, which reports it with exact locations.
  if (cached && (await recheckFiles(cached))) return ok({ project: cached, graph: buildGraph(cached.steps) });

  const { analyse } = await import('./analyse.js');
  const analysed = analyse({ file, text, env, skipFileChecks: options.skipFileChecks });
  if (!analysed.ok) return analysed;
  const { project, graph, variables } = analysed.value;
  if (!options.readOnly) await cache?.write(project, variables, env);
  return ok({ project, graph });
}
