/**
 * Step order: Kahn's algorithm taking the earliest-declared ready step, checked against the plain
 * re-sorting version on random graphs.
 */
import { describe, expect, it } from 'vitest';
import type { Project, Step } from '../../src/core/model.js';
import { buildGraph, type StepGraph, topologicalOrder } from '../../src/graph/graph.js';

/** The straightforward version: sort the ready list before every pick. */
function reference(order: string[], graph: StepGraph): string[] {
  const rank = new Map(order.map((id, i) => [id, i]));
  const indegree = new Map(order.map((id) => [id, graph.predecessors(id)?.length ?? 0]));
  const ready = order.filter((id) => indegree.get(id) === 0);
  const result: string[] = [];
  while (ready.length) {
    ready.sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0));
    const id = ready.shift() as string;
    result.push(id);
    for (const next of graph.successors(id) ?? []) {
      const left = (indegree.get(next) ?? 0) - 1;
      indegree.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return result;
}

/** A small deterministic PRNG, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('topologicalOrder', () => {
  it('matches the re-sorting version on random graphs', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const next = random(seed);
      const n = 1 + Math.floor(next() * 40);
      // Edges only from an earlier to a later position in a shuffled order: acyclic.
      const positions = Array.from({ length: n }, (_, i) => `s${i}`).sort(() => next() - 0.5);
      const deps = new Map(positions.map((id) => [id, [] as string[]]));
      positions.forEach((id, i) => {
        for (let j = 0; j < i; j++) if (next() < 0.15) deps.get(id)?.push(positions[j] as string);
      });
      const declared = [...deps.keys()].sort(() => next() - 0.5);
      const steps = new Map(declared.map((id) => [id, { id, deps: deps.get(id) } as unknown as Step]));
      const graph = buildGraph(steps);
      const project = { steps } as unknown as Project;
      const got = topologicalOrder(project, graph);
      expect(got).toEqual(reference(declared, graph));
      expect(got).toHaveLength(n);
    }
  });
});
