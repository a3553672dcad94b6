/**
 * Semantic pass over drafted steps: unique ids across sections, every name a step refers to exists
 * and is of the right kind, stash roots and stack images resolved, and the final edge lists.
 */

import type { StackStep, StashStep, Step, StepKind } from '../core/model.js';
import type { Failure, Location } from '../core/result.js';
import { sourceText } from '../core/source.js';
import { isFullyQualified } from '../kiwi/image-ref.js';
import type { StepDraft } from './normalize.js';

interface Resolver {
  readonly byId: ReadonlyMap<string, Step>;
  readonly failures: Failure[];
}

function expectKind(
  r: Resolver,
  options: { id: string; kinds: StepKind[]; location: Location; what: string },
): boolean {
  const target = r.byId.get(options.id);
  if (!target) {
    r.failures.push({
      reason: 'unknown-step',
      message: `${options.what} '${options.id}' is not a step in this file`,
      location: options.location,
    });
    return false;
  }
  if (!options.kinds.includes(target.kind)) {
    r.failures.push({
      reason: 'wrong-step-kind',
      message: `${options.what} '${options.id}' is a ${target.kind}, not a ${options.kinds.join(' or ')}`,
      location: options.location,
      related: [{ message: `'${options.id}' is declared here`, location: target.location }],
    });
    return false;
  }
  return true;
}

function resolveStash(r: Resolver, step: StashStep, rootText: string): Step {
  const location = step.fields.root ?? step.location;
  const target = r.byId.get(rootText);
  if (target?.kind === 'build')
    return { ...step, root: { build: rootText }, deps: sortedIds([...step.deps, rootText]) };
  if (target) expectKind(r, { id: rootText, kinds: ['build'], location, what: 'root' });
  return step;
}

function resolveStack(r: Resolver, step: StackStep): Step {
  const deps = [...step.deps];
  const images = step.images.map((image, index) => {
    const location = step.fields[`images.${index}`] ?? step.fields.images ?? step.location;
    const name = 'ref' in image ? image.ref : image.stash;
    const target = r.byId.get(name);
    if (target?.kind === 'stash') {
      deps.push(name);
      return { stash: name };
    }
    if (target) {
      expectKind(r, { id: name, kinds: ['stash'], location, what: 'image' });
      return image;
    }
    if (isFullyQualified(name)) return { ref: name };
    if (step.fromRegistry) return { ref: `${step.fromRegistry.replace(/\/$/, '')}/${name}` };
    r.failures.push({
      reason: 'short-image-name',
      message: `image '${name}' is neither a stash in this file nor a fully qualified reference (host/name:tag); set from-registry or qualify it`,
      location,
    });
    return image;
  });
  return { ...step, images, deps: sortedIds(deps) };
}

/** The `needs` item naming `need` (deps are sorted, so search the list as written). */
export function needLocation(step: Step, need: string): Location {
  for (let i = 0; step.fields[`needs.${i}`]; i++) {
    const location = step.fields[`needs.${i}`] as Location;
    if (locationText(location) === need) return location;
  }
  return step.fields.needs ?? step.location;
}

function locationText(location: Location): string {
  const text = sourceText(location.file) ?? '';
  return text.slice(location.offset, location.offset + location.length).replace(/^["']|["']$/g, '');
}

const sortedIds = (ids: string[]) => [...new Set(ids)].sort();

/** Resolves references; failures for duplicates and unknown or ill-kinded names. */
export function resolveReferences(drafts: readonly StepDraft[]): {
  steps: Map<string, Step>;
  failures: Failure[];
} {
  const byId = new Map<string, Step>();
  const failures: Failure[] = [];
  const rawRoots = new Map<string, string>();
  for (const { step, raw } of drafts) {
    if (step.kind === 'stash' && !rawRoots.has(step.id)) rawRoots.set(step.id, String(raw.root));
    const first = byId.get(step.id);
    if (first) {
      failures.push({
        reason: 'duplicate-id',
        message: `step id '${step.id}' is already used by a ${first.kind}; ids are unique across all sections`,
        location: step.location,
        related: [{ message: 'first declared here', location: first.location }],
      });
      continue;
    }
    byId.set(step.id, step);
  }
  const r: Resolver = { byId, failures };
  const steps = new Map<string, Step>();
  for (const original of byId.values()) {
    let step = original;
    if (step.kind === 'stash') step = resolveStash(r, step, rawRoots.get(step.id) ?? '');
    if (step.kind === 'stack') step = resolveStack(r, step);
    if ((step.kind === 'build' || step.kind === 'stack') && step.box !== undefined) {
      expectKind(r, {
        id: step.box,
        kinds: ['box'],
        location: step.fields.box ?? step.location,
        what: 'box',
      });
    }
    if (step.kind === 'boot-test') {
      expectKind(r, {
        id: step.image,
        kinds: ['build', 'stack'],
        location: step.fields.image ?? step.location,
        what: 'image',
      });
    }
    for (const need of step.deps) {
      if (step.kind === 'build' && need === step.box) continue;
      if (step.kind === 'boot-test' && need === step.image) continue;
      if (
        step.kind === 'stack' &&
        (need === step.box || step.images.some((i) => 'stash' in i && i.stash === need))
      )
        continue;
      if (step.kind === 'stash' && 'build' in step.root && need === step.root.build) continue;
      if (need === step.id) {
        failures.push({
          reason: 'cycle',
          message: `step '${step.id}' needs itself`,
          location: step.fields.needs ?? step.location,
        });
        continue;
      }
      expectKind(r, {
        id: need,
        kinds: ['box', 'build', 'stash', 'stack', 'task', 'boot-test'],
        location: needLocation(step, need),
        what: 'needed step',
      });
    }
    steps.set(step.id, step);
  }
  return { steps, failures };
}
