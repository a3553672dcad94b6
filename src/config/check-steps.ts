/**
 * Checks that need more than the YAML: description dirs are valid KIWI descriptions declaring the
 * requested type and profiles, and kiwi-args are options kiwi-ng takes.
 */
import { existsSync } from 'node:fs';
import { checkBootTest } from '../boot/check.js';
import type { BuildStep, StackStep, Step } from '../core/model.js';
import type { Failure, Location } from '../core/result.js';
import { checkKiwiArgs } from '../kiwi/build-options.js';
import { resolveBuildType } from '../kiwi/build-type.js';
import { readDescription } from '../kiwi/description.js';
import { kiwiFileOf } from '../kiwi/description-file.js';
import { checkGuestArgs } from '../kiwi/guest-protocol.js';
import { checkSchema } from '../kiwi/schema.js';

/** Locates `steps.<id>.<key>[.<index>]` in kiwibox.yaml. */
export type Locator = (step: Step, key: string, index?: number) => Location;

/** Locates a field by the ranges a step keeps of its own fields (`key` or `key.index`), else the step. */
export const locateByFields: Locator = (step, key, index) =>
  step.fields[index === undefined ? key : `${key}.${index}`] ?? step.location;

function checkDescription(step: BuildStep | StackStep, at: Locator, boxArch: BoxArch): Failure[] {
  if (step.description === undefined) return [];
  const kiwiFileIndex = step.kiwiArgs.findIndex((a) => a === '--kiwi-file' || a.startsWith('--kiwi-file='));
  const kiwiFile = kiwiFileOf(step.kiwiArgs);
  const where = kiwiFile === undefined ? at(step, 'description') : at(step, 'kiwi-args', kiwiFileIndex);
  const read = readDescription(step.description, where, kiwiFile === undefined ? {} : { kiwiFile });
  if (!read.ok) return read.error.map((f) => ({ ...f, step: step.id }));
  const desc = read.value;
  const failures: Failure[] = [];
  const arch = step.box === undefined ? undefined : boxArch(step.box);
  const resolved = resolveBuildType(desc, {
    ...(step.type !== undefined ? { type: step.type } : {}),
    profiles: step.profiles,
    ...(arch !== undefined ? { arch } : {}),
  });
  if (!resolved.ok) {
    for (const problem of resolved.error) {
      const location =
        problem.reason === 'unknown-profile'
          ? at(step, 'profiles', problem.profileIndex)
          : problem.reason === 'unknown-type'
            ? at(step, 'type')
            : step.profiles.length > 0
              ? at(step, 'profiles')
              : at(step, 'description');
      failures.push({ step: step.id, reason: problem.reason, message: problem.message, location });
    }
  }
  if (step.kind === 'stack' && desc.hasBootstrap) {
    failures.push({
      step: step.id,
      reason: 'bootstrap-into-existing-root',
      message: `${desc.file} has a <packages type="bootstrap"> section: kiwi-ng cannot bootstrap into the stacked (non-empty) root; remove it`,
      location: at(step, 'description'),
    });
  }
  // Only the host's kiwi-ng is known here: a box's kiwi judges its own schema (docs/descriptions.md).
  if (step.box === undefined) {
    failures.push(...checkSchema(desc.file, where).map((f) => ({ ...f, step: step.id })));
  }
  return failures;
}

function checkArgs(step: BuildStep | StackStep, at: Locator): Failure[] {
  const failures: Failure[] = checkKiwiArgs(step.kiwiArgs).problems.map((p) => ({
    step: step.id,
    reason: p.reason,
    message: p.message,
    location: at(step, 'kiwi-args', p.index),
  }));
  // A boxed build carries its arguments on the guest's kernel command line: say now what cannot be.
  if (step.box !== undefined) {
    step.kiwiArgs.forEach((arg, index) => {
      for (const f of checkGuestArgs({ kiwiArgs: [arg], step: step.id })) {
        failures.push({ ...f, location: at(step, 'kiwi-args', index) });
      }
    });
  }
  return failures;
}

/** The arch of a box step by id (undefined: not a box in this file). */
type BoxArch = (id: string) => string | undefined;

/** All load-time checks of steps against the file system. */
export function checkSteps(steps: Iterable<Step>, at: Locator): Failure[] {
  const all = [...steps];
  const arches = new Map(all.flatMap((s) => (s.kind === 'box' ? [[s.id, s.arch as string] as const] : [])));
  const boxArch: BoxArch = (id) => arches.get(id);
  const failures: Failure[] = [];
  const byId = new Map(all.map((step) => [step.id, step]));
  for (const step of all) {
    if (step.kind === 'boot-test') failures.push(...checkBootTest(step, byId, at));
    if (step.kind === 'build' || step.kind === 'stack') {
      failures.push(...checkDescription(step, at, boxArch), ...checkArgs(step, at));
    }
    if (step.kind === 'stash' && 'dir' in step.root && !existsSync(step.root.dir)) {
      failures.push({
        step: step.id,
        reason: 'unknown-root',
        message: `root '${step.root.dir}' is neither a build in this file nor an existing directory`,
        location: at(step, 'root'),
      });
    }
    if (step.kind === 'box' && step.source === 'local') {
      for (const key of ['kernel', 'initrd', 'disk'] as const) {
        const path = step[key];
        if (path !== undefined && !existsSync(path)) {
          failures.push({
            step: step.id,
            reason: 'missing-box-file',
            message: `${key} ${path} does not exist`,
            location: at(step, key),
          });
        }
      }
    }
  }
  return failures;
}
