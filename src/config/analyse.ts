/**
 * kiwibox.yaml text → validated Project and graph, or every problem found at once: YAML parse,
 * `${VAR}` expansion, JSON Schema, normalisation, references, cycles and file checks. Loaded only
 * when the analysis cache (analysis-cache.ts) cannot answer: yaml and ajv are the heavy part of start-up.
 */
import { dirname } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import type { Project } from '../core/model.js';
import { type Failure, fail, ok, type Result } from '../core/result.js';
import { buildGraph, type StepGraph } from '../graph/graph.js';
import { stateDirOf } from '../state/layout.js';
import { cacheSection } from './cache-section.js';
import { checkSteps, locateByFields } from './check-steps.js';
import { findCycles } from './cycles.js';
import { expandEnv } from './env.js';
import { draftSteps, podmanSettings } from './normalize.js';
import { resolveReferences } from './references.js';
import { validateSchema } from './schema.js';
import { slurmSettings } from './slurm.js';

function parseYaml(file: string, text: string): { doc: Document; failures: Failure[] } {
  const doc = parseDocument(text, { lineCounter: new LineCounter(), uniqueKeys: true, prettyErrors: false });
  const failures = [...doc.errors, ...doc.warnings].map(
    (e): Failure => ({
      reason: 'yaml-syntax',
      message: e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? e.message,
      location: { file, offset: e.pos[0], length: Math.max(e.pos[1] - e.pos[0], 1) },
    }),
  );
  return { doc, failures };
}

export interface Analysed {
  readonly project: Project;
  readonly graph: StepGraph;
  /** Names of the `${VAR}`s the file expands (what a cached analysis depends on besides the text). */
  readonly variables: ReadonlySet<string>;
}

/** Analyses the text of `file` (an absolute path). */
export function analyse(options: {
  readonly file: string;
  readonly text: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Skip checks that read description dirs (tests of pure YAML handling). */
  readonly skipFileChecks?: boolean;
}): Result<Analysed> {
  const { file, text } = options;
  const { doc, failures: syntax } = parseYaml(file, text);
  if (syntax.length) return fail(syntax);
  if (doc.contents === null) {
    return fail([
      {
        reason: 'invalid-value',
        message: 'the file is empty: it needs at least `version: 1`',
        location: { file, offset: 0, length: 0 },
      },
    ]);
  }
  const variables = new Set<string>();
  const unset = expandEnv({ doc, file, text, env: options.env, variables });
  const value = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  const schema = validateSchema({ doc, value, file });
  if (unset.length || schema.length) return fail([...unset, ...schema]);

  const dir = dirname(file);
  const cache = cacheSection({ doc, file, value });
  if (cache.failures.length) return fail(cache.failures);
  const drafts = draftSteps({ doc, file, dir, value });
  const { steps, failures } = resolveReferences(drafts);
  const graph = buildGraph(steps);
  if (!failures.length) failures.push(...findCycles(steps, graph));
  const slurm = slurmSettings({ value, doc, file, steps });
  failures.push(...slurm.failures);
  if (!options.skipFileChecks) {
    // Each step carries the ranges of its own fields: with a duplicate id, a lookup by id and
    // section would find the other step's lines.
    failures.push(...checkSteps(steps.values(), locateByFields));
  }
  if (failures.length) return fail(failures);
  const project: Project = {
    file,
    dir,
    stateDir: stateDirOf(dir),
    steps,
    podman: podmanSettings({ value, dir }),
    ...(slurm.settings ? { slurm: slurm.settings } : {}),
    ...(cache.section ? { cache: cache.section } : {}),
  };
  return ok({ project, graph, variables });
}
