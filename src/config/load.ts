/**
 * kiwibox.yaml → validated Project and graph, or every problem found at once. Nothing runs before
 * this succeeds.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { errorMessage, type Failure, fail, ok, type Result } from '../core/result.js';
import { buildGraph, findCycles, type StepGraph } from '../graph/graph.js';
import { checkSteps } from './check-steps.js';
import { expandEnv } from './env.js';
import type { Project } from './model.js';
import { draftSteps, podmanSettings, SECTIONS } from './normalize.js';
import { resolveReferences } from './references.js';
import { validateSchema } from './schema.js';
import { rememberSource } from './source.js';
import { locate } from './yaml-ast.js';

export interface LoadedProject {
  readonly project: Project;
  readonly graph: StepGraph;
}

export interface LoadOptions {
  readonly file: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Skip checks that read description dirs (tests of pure YAML handling). */
  readonly skipFileChecks?: boolean;
}

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
  const { doc, failures: syntax } = parseYaml(file, text);
  if (syntax.length) return fail(syntax);
  if (doc.contents === null) {
    return fail([
      {
        reason: 'schema',
        message: 'the file is empty: it needs at least `version: 1`',
        location: { file, offset: 0, length: 0 },
      },
    ]);
  }
  const unset = expandEnv({ doc, file, text, env: options.env ?? process.env });
  const value = doc.toJS({ maxAliasCount: 100 }) as Record<string, unknown>;
  const schema = validateSchema({ doc, value, file });
  if (unset.length || schema.length) return fail([...unset, ...schema]);

  const dir = dirname(file);
  const drafts = draftSteps({ doc, file, dir, value });
  const { steps, failures } = resolveReferences(drafts);
  const graph = buildGraph(steps);
  if (!failures.length) failures.push(...findCycles(steps, graph));
  if (!options.skipFileChecks) {
    const sectionOf = new Map(drafts.map((d) => [d.step.id, d.section]));
    failures.push(
      ...checkSteps(steps.values(), (step, key, index) => {
        const path = [sectionOf.get(step.id) ?? '', step.id, key];
        if (index !== undefined) path.push(String(index));
        return { file, ...locate(doc, path) };
      }),
    );
  }
  if (failures.length) return fail(failures);
  const project: Project = {
    file,
    dir,
    stateDir: join(dir, '.kiwibox'),
    steps,
    podman: podmanSettings({ value, dir }),
  };
  return ok({ project, graph });
}

export { SECTIONS };
