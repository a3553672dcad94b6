/**
 * Dependency cycles as diagnostics: one failure per cycle, each edge located in kiwibox.yaml.
 */
import { alg } from '@dagrejs/graphlib';
import type { Step } from '../core/model.js';
import type { Failure, Location } from '../core/result.js';
import type { StepGraph } from '../graph/graph.js';
import { needLocation } from './references.js';

/** Where in the file the edge `step → dep` comes from. */
function edgeLocation(step: Step, dep: string): Location {
  const f = step.fields;
  if ((step.kind === 'build' || step.kind === 'stack') && step.box === dep && f.box) return f.box;
  if (step.kind === 'boot-test' && step.image === dep && f.image) return f.image;
  if (step.kind === 'stash' && 'build' in step.root && step.root.build === dep && f.root) return f.root;
  if (step.kind === 'stack' && step.images.some((i) => 'stash' in i && i.stash === dep) && f.images)
    return f.images;
  return needLocation(step, dep);
}

/** A failure per cycle, naming every edge with its place in the file. */
export function findCycles(steps: ReadonlyMap<string, Step>, graph: StepGraph): Failure[] {
  const order = [...steps.keys()];
  const failures: Failure[] = [];
  for (const component of alg.findCycles(graph)) {
    // Walk the cycle from its first-declared member so the message is stable.
    const members = new Set(component);
    const start = order.find((id) => members.has(id)) as string;
    const path = [start];
    let current = start;
    for (;;) {
      const next = order.find((id) => members.has(id) && (steps.get(current)?.deps.includes(id) ?? false));
      if (next === undefined || next === start || path.includes(next)) break;
      path.push(next);
      current = next;
    }
    const first = steps.get(start) as Step;
    const related = path.map((id, i) => {
      const dep = path[(i + 1) % path.length] as string;
      return {
        message: `'${id}' depends on '${dep}' here`,
        location: edgeLocation(steps.get(id) as Step, dep),
      };
    });
    failures.push({
      reason: 'cycle',
      message: `dependency cycle: ${[...path, start].join(' -> ')}`,
      location: edgeLocation(first, path[1 % path.length] as string),
      related,
    });
  }
  return failures;
}
