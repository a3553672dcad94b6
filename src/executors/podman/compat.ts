/**
 * In-memory projects for the seed's compatibility command lines (`kiwibox stash --root`,
 * `kiwibox stackbuild --stash`): one stash or stack step, handed to the normal pipeline runner.
 */
import { join, resolve } from 'node:path';
import type { PodmanSettings, Project, StackStep, StashStep, Step } from '../../core/model.js';
import { type Failure, fail, failWith, ok, type Result } from '../../core/result.js';
import { registryOf } from '../../kiwi/image-ref.js';
import { stateDirOf } from '../../state/layout.js';
import { rootDescription } from './description.js';
import { splitNameTag, validateImageName, validateTag } from './names.js';

/** Store flags of the compatibility commands: command-line options, else KIWIBOX_PODMAN_* variables. */
export interface CompatPodmanOptions {
  readonly podmanRoot?: string;
  readonly podmanRunroot?: string;
  readonly podmanTmpdir?: string;
  readonly storageDriver?: string;
  /** Registries (host[:port]) reached over plain HTTP. */
  readonly insecureRegistry?: readonly string[];
}

/** Settings from options/env (`--insecure-registry`, KIWIBOX_INSECURE_REGISTRIES=host,host). */
export function compatPodmanSettings(
  options: CompatPodmanOptions,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): PodmanSettings {
  const path = (value: string | undefined) => (value ? resolve(cwd, value) : undefined);
  const registries: Record<string, { tlsVerify: boolean }> = {};
  const insecure = [
    ...(options.insecureRegistry ?? []),
    ...(env.KIWIBOX_INSECURE_REGISTRIES ?? '').split(','),
  ];
  for (const host of insecure.map((h) => h.trim()).filter(Boolean)) registries[host] = { tlsVerify: false };
  return {
    root: path(options.podmanRoot ?? env.KIWIBOX_PODMAN_ROOT),
    runroot: path(options.podmanRunroot ?? env.KIWIBOX_PODMAN_RUNROOT),
    tmpdir: path(options.podmanTmpdir ?? env.KIWIBOX_PODMAN_TMPDIR),
    storageDriver: options.storageDriver ?? env.KIWIBOX_PODMAN_STORAGE_DRIVER,
    registries,
  };
}

const commandLine = { file: '<command line>', offset: 0, length: 0 };

function projectOf(cwd: string, podman: PodmanSettings, step: Step): Project {
  return {
    file: join(cwd, 'kiwibox.yaml'),
    dir: cwd,
    stateDir: stateDirOf(cwd),
    podman,
    steps: new Map([[step.id, step]]),
  };
}

/** `kiwibox stash --root DIR [--container-name N] [--tag T]` as a one-step project. */
export async function stashProject(options: {
  root: string;
  containerName?: string;
  tag?: string;
  cwd: string;
  podman: PodmanSettings;
}): Promise<Result<Project>> {
  const root = resolve(options.cwd, options.root);
  const name = options.containerName ?? ((await rootDescription(root))?.name || undefined);
  if (name === undefined) {
    return failWith({
      reason: 'stash-name-missing',
      message: `${root}/image/config.xml has no image name: give --container-name`,
    });
  }
  const checks = [validateImageName(name), validateTag(options.tag ?? 'latest')];
  const problems = checks.flatMap((check) => (check.ok ? [] : check.error));
  if (problems.length > 0) return fail(problems);
  const step: StashStep = {
    kind: 'stash',
    id: 'stash',
    deps: [],
    location: commandLine,
    fields: {},
    root: { dir: root },
    name,
    tag: options.tag ?? 'latest',
  };
  return ok(projectOf(options.cwd, options.podman, step));
}

/**
 * `kiwibox stackbuild --stash N[:T]… [--from-registry R] --target-dir T [--description D] [-- args]`.
 * Stashes are `localhost/N:T`, or `R/N:T` with a registry (never the short names upstream mounted).
 */
export function stackbuildProject(options: {
  stashes: readonly string[];
  fromRegistry?: string;
  targetDir: string;
  description?: string;
  type?: string;
  profiles?: readonly string[];
  keepDirlinks?: boolean;
  kiwiArgs: readonly string[];
  cwd: string;
  podman: PodmanSettings;
}): Result<Project> {
  const problems: Failure[] = [];
  if (options.stashes.length === 0)
    problems.push({ reason: 'no-stash', message: 'give at least one --stash' });
  if (options.fromRegistry !== undefined && registryOf(`${options.fromRegistry}/x`) === undefined) {
    problems.push({
      reason: 'bad-registry',
      message: `--from-registry ${options.fromRegistry} is not a host[:port]`,
    });
  }
  const images = options.stashes.map((value) => {
    const { name, tag } = splitNameTag(value);
    for (const check of [validateImageName(name), validateTag(tag)])
      if (!check.ok) problems.push(...check.error);
    return { ref: `${options.fromRegistry ?? 'localhost'}/${name}:${tag}` };
  });
  if (problems.length > 0) return fail(problems);
  // `--` is only a separator (upstream strips it too).
  const kiwiArgs = options.kiwiArgs.filter((arg) => arg !== '--');
  const step: StackStep = {
    kind: 'stack',
    id: 'stackbuild',
    deps: [],
    location: commandLine,
    fields: {},
    images,
    targetDir: resolve(options.cwd, options.targetDir),
    description: options.description === undefined ? undefined : resolve(options.cwd, options.description),
    type: options.type,
    profiles: options.profiles ?? [],
    kiwiArgs,
    keepDirlinks: options.keepDirlinks ?? false,
  };
  return ok(projectOf(options.cwd, withLoopbackRegistry(options.podman, options.fromRegistry), step));
}

/** A loopback registry not configured otherwise is plain HTTP (as a test or CI registry is). */
function withLoopbackRegistry(settings: PodmanSettings, registry: string | undefined): PodmanSettings {
  if (registry === undefined || settings.registries[registry] !== undefined) return settings;
  const host = registry.replace(/:\d+$/, '');
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) return settings;
  return { ...settings, registries: { ...settings.registries, [registry]: { tlsVerify: false } } };
}
