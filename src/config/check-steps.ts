/**
 * Checks that need more than the YAML: description dirs are valid KIWI descriptions declaring the
 * requested type and profiles, and kiwi-args are options kiwi-ng takes.
 */
import { existsSync } from 'node:fs';
import type { BuildStep, StackStep, Step } from '../core/model.js';
import type { Failure, Location } from '../core/result.js';
import { checkBootTest } from '../executors/boot/check.js';
import { checkKiwiArgs } from '../kiwi/build-options.js';
import { readDescription } from '../kiwi/description.js';
import { checkGuestArgs } from '../kiwi/guest-protocol.js';

/** Locates `steps.<id>.<key>[.<index>]` in kiwibox.yaml. */
export type Locator = (step: Step, key: string, index?: number) => Location;

/** Locates a field by the ranges a step keeps of its own fields (`key` or `key.index`), else the step. */
export const locateByFields: Locator = (step, key, index) =>
  step.fields[index === undefined ? key : `${key}.${index}`] ?? step.location;

function checkDescription(step: BuildStep | StackStep, at: Locator): Failure[] {
  if (step.description === undefined) return [];
  const read = readDescription(step.description, at(step, 'description'));
  if (!read.ok) return read.error.map((f) => ({ ...f, step: step.id }));
  const desc = read.value;
  const failures: Failure[] = [];
  if (step.type !== undefined && !desc.types.includes(step.type)) {
    failures.push({
      step: step.id,
      reason: 'unknown-type',
      message: `type '${step.type}' is not declared in ${desc.file} (it has: ${desc.types.join(', ') || 'none'})`,
      location: at(step, 'type'),
    });
  }
  step.profiles.forEach((profile, index) => {
    if (!desc.profiles.includes(profile)) {
      failures.push({
        step: step.id,
        reason: 'unknown-profile',
        message: `profile '${profile}' is not declared in ${desc.file} (it has: ${desc.profiles.join(', ') || 'none'})`,
        location: at(step, 'profiles', index),
      });
    }
  });
  if (step.kind === 'stack' && desc.hasBootstrap) {
    failures.push({
      step: step.id,
      reason: 'bootstrap-into-existing-root',
      message: `${desc.file} has a <packages type="bootstrap"> section: kiwi-ng cannot bootstrap into the stacked (non-empty) root; remove it`,
      location: at(step, 'description'),
    });
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

/** All load-time checks of steps against the file system. */
export function checkSteps(steps: Iterable<Step>, at: Locator): Failure[] {
  const failures: Failure[] = [];
  const all = [...steps];
  const byId = new Map(all.map((step) => [step.id, step]));
  for (const step of all) {
    if (step.kind === 'boot-test') failures.push(...checkBootTest(step, byId, at));
    if (step.kind === 'build' || step.kind === 'stack') {
      failures.push(...checkDescription(step, at), ...checkArgs(step, at));
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
