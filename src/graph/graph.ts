/**
 * The dependency graph (graphlib): an edge runs from a dependency to its dependent. Orders are
 * deterministic: ties are broken by declaration order. Cycles are a config diagnostic (config/cycles.ts).
 */
import { Graph } from '@dagrejs/graphlib';
import type { Project, Step } from '../core/model.js';
import type { Failure, Result } from '../core/result.js';
import { fail, ok } from '../core/result.js';

export type StepGraph = Graph<Record<string, never>, Record<string, never>, Record<string, never>>;

export function buildGraph(steps: ReadonlyMap<string, Step>): StepGraph {
  const graph: StepGraph = new Graph({ directed: true });
  for (const id of steps.keys()) graph.setNode(id, {});
  for (const step of steps.values()) {
    for (const dep of step.deps) if (steps.has(dep)) graph.setEdge(dep, step.id, {});
  }
  return graph;
}

/**
 * Steps to run for `targets` (all when empty) plus everything they depend on, in a deterministic
 * topological order.
 */
export function selectSteps(
  project: Project,
  graph: StepGraph,
  targets: readonly string[],
): Result<string[]> {
  const unknown = targets.filter((t) => !project.steps.has(t));
  if (unknown.length) {
    return fail(
      unknown.map(
        (t): Failure => ({
          reason: 'unknown-step',
          message: `no step named '${t}' in ${project.file} (steps: ${[...project.steps.keys()].join(', ')})`,
        }),
      ),
    );
  }
  const wanted = new Set<string>();
  const visit = (id: string) => {
    if (wanted.has(id)) return;
    wanted.add(id);
    for (const dep of graph.predecessors(id) ?? []) visit(dep);
  };
  for (const id of targets.length ? targets : project.steps.keys()) visit(id);
  return ok(topologicalOrder(project, graph).filter((id) => wanted.has(id)));
}

/** Kahn's algorithm, always taking the earliest-declared ready step. */
export function topologicalOrder(project: Project, graph: StepGraph): string[] {
  const order = [...project.steps.keys()];
  const rank = new Map(order.map((id, i) => [id, i]));
  const indegree = new Map(order.map((id) => [id, graph.predecessors(id)?.length ?? 0]));
  // Ranks of ready steps, kept sorted (binary insertion: re-sorting per step was quadratic).
  const ready = order.flatMap((id, i) => (indegree.get(id) === 0 ? [i] : []));
  const result: string[] = [];
  for (let head = 0; head < ready.length; ) {
    const id = order[ready[head++] as number] as string;
    result.push(id);
    for (const next of graph.successors(id) ?? []) {
      const left = (indegree.get(next) ?? 0) - 1;
      indegree.set(next, left);
      if (left !== 0) continue;
      const r = rank.get(next) ?? 0;
      let lo = head;
      let hi = ready.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((ready[mid] as number) < r) lo = mid + 1;
        else hi = mid;
      }
      ready.splice(lo, 0, r);
    }
  }
  return result;
}

/** Every step that (transitively) depends on one of `ids`, `ids` included. */
export function dependentsOf(graph: StepGraph, ids: Iterable<string>): Set<string> {
  const found = new Set<string>();
  const visit = (id: string) => {
    if (found.has(id)) return;
    found.add(id);
    for (const next of graph.successors(id) ?? []) visit(next);
  };
  for (const id of ids) visit(id);
  return found;
}
