/**
 * `kiwibox boxbuild`: the upstream `kiwi-ng system boxbuild` command line, run as a one-step
 * pipeline (a box step and a boxed build) with the same fingerprints, reporters and exit codes.
 * Problems in the arguments are reported against the command line itself.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { checkSteps, locateByFields } from '../../config/check-steps.js';
import { DEFAULT_BUILD_TIMEOUT } from '../../config/normalize.js';
import type { BoxStep, BuildStep, Project, Sharing } from '../../core/model.js';
import type { Failure, Location } from '../../core/result.js';
import { rememberSource } from '../../core/source.js';
import { executorsFor } from '../../executors/index.js';
import { createBoxedBuildExecutor } from '../../executors/qemu/boxed-build.js';
import type { Output } from '../../reporters/output.js';
import { stateDirOf } from '../../state/layout.js';
import { onAction } from '../action.js';
import { type KiwiGlobals, NO_KIWI_GLOBALS } from '../kiwi-globals.js';
import { EXIT, type GlobalOptions } from '../options.js';

export interface BoxbuildOptions {
  box: string;
  boxMemory?: string;
  boxSmpCpus?: string;
  '9pSharing'?: boolean;
  virtiofsSharing?: boolean;
  sshfsSharing?: boolean;
  x86_64?: boolean;
  aarch64?: boolean;
  snapshot: boolean;
  updateCheck: boolean;
  boxDebug?: boolean;
  timeout?: string;
}

const COMMAND_LINE = '<command line>';
const HOST_BOX = 'host';

/** Splits what follows `--` into kiwibox's own keys and the remaining kiwi-ng build options. */
function splitBuildArgs(args: readonly string[]) {
  const taken: Record<'--description' | '--target-dir' | '--type' | '--profile', string[]> = {
    '--description': [],
    '--target-dir': [],
    '--type': [],
    '--profile': [],
  };
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const list = (taken as Record<string, string[]>)[name];
    if (!list) {
      rest.push(arg);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value !== undefined) list.push(value);
  }
  return { taken, rest };
}

/** Builds the one-step project; failures point into the command line. */
export function boxbuildProject(options: {
  readonly opts: BoxbuildOptions;
  readonly buildArgs: readonly string[];
  /** kiwi-ng global options typed before the command. */
  readonly kiwiGlobals?: KiwiGlobals;
  readonly cwd: string;
  readonly argv: readonly string[];
}): { project: Project; failures: Failure[] } {
  const { opts, cwd } = options;
  const line = options.argv.join(' ');
  rememberSource(COMMAND_LINE, line);
  const at = (text: string | undefined): Location => {
    let offset = text === undefined ? -1 : line.indexOf(text);
    // `--name=value` as typed `--name value`: point at the name.
    if (offset < 0 && text?.startsWith('--') && text.includes('=')) {
      text = text.slice(0, text.indexOf('='));
      offset = line.indexOf(text);
    }
    return {
      file: COMMAND_LINE,
      offset: Math.max(offset, 0),
      length: offset < 0 ? 0 : (text as string).length,
    };
  };
  const globals = options.kiwiGlobals ?? NO_KIWI_GLOBALS;
  const split = splitBuildArgs(options.buildArgs);
  const failures: Failure[] = [];
  if (globals.type !== undefined && split.taken['--type']?.length) {
    failures.push({
      reason: 'conflicting-option',
      message: `--type ${globals.type} before boxbuild and --type ${split.taken['--type']?.[0]} after -- name the type twice: keep one`,
      location: at(split.taken['--type']?.[0]),
    });
  }
  // kiwi-ng's order: global options first, then the build's.
  const taken = {
    ...split.taken,
    '--type': globals.type === undefined ? (split.taken['--type'] ?? []) : [globals.type],
    '--profile': [...new Set([...globals.profiles, ...(split.taken['--profile'] ?? [])])],
  };
  const rest = [...globals.args, ...split.rest];
  for (const key of ['--description', '--target-dir'] as const) {
    if (taken[key]?.length !== 1) {
      failures.push({
        reason: 'missing-option',
        message: `give exactly one ${key} after --`,
        location: at('--'),
      });
    }
  }
  const sharing: Sharing = opts.virtiofsSharing ? 'virtiofs' : opts.sshfsSharing ? 'sshfs' : '9p';
  const stateDir = stateDirOf(resolve(cwd));
  // `--box host` is the host box (no official box has that name): the host's kiwi-ng in a VM.
  const host = opts.box === HOST_BOX;
  const box: BoxStep = {
    kind: 'box',
    id: 'box',
    source: host ? 'host' : 'official',
    name: opts.box,
    memory: opts.boxMemory ?? (host ? '2G' : '8G'),
    cpus: Number(opts.boxSmpCpus ?? (host ? 2 : 4)),
    arch: opts.aarch64 ? 'aarch64' : 'x86_64',
    accel: 'auto',
    raw: { 'update-check': opts.updateCheck, snapshot: opts.snapshot },
    deps: [],
    location: at(opts.box),
    // Only sizes given on the command line override the registry's (resolveBox checks `fields`).
    fields: {
      ...(opts.boxMemory === undefined ? {} : { memory: at(opts.boxMemory) }),
      ...(opts.boxSmpCpus === undefined ? {} : { cpus: at(opts.boxSmpCpus) }),
    },
  };
  const description = resolve(cwd, taken['--description']?.[0] ?? '.');
  const build: BuildStep = {
    kind: 'build',
    id: 'build',
    description,
    targetDir: resolve(cwd, taken['--target-dir']?.[0] ?? 'out'),
    type: taken['--type']?.[0],
    profiles: taken['--profile'] ?? [],
    kiwiArgs: rest,
    box: 'box',
    sharing,
    timeout: opts.timeout ? Number(opts.timeout) : DEFAULT_BUILD_TIMEOUT,
    deps: ['box'],
    location: at('boxbuild'),
    fields: {
      description: at(taken['--description']?.[0]),
      type: at(taken['--type']?.[0]),
      'kiwi-args': at(rest[0]),
      ...Object.fromEntries(rest.map((arg, i) => [`kiwi-args.${i}`, at(arg)])),
      ...Object.fromEntries((taken['--profile'] ?? []).map((p, i) => [`profiles.${i}`, at(p)])),
    },
  };
  if (!failures.length) {
    failures.push(...checkSteps([box, build], locateByFields));
  }
  const project: Project = {
    file: resolve(cwd, 'kiwibox.yaml'),
    dir: cwd,
    stateDir,
    steps: new Map<string, BoxStep | BuildStep>([
      ['box', box],
      ['build', build],
    ]),
    podman: { registries: {} },
  };
  return { project, failures };
}

export function registerBoxbuildCommand(options: {
  readonly program: Command;
  readonly out: Output;
  readonly global: (cmd: Command) => GlobalOptions;
  /** kiwi-ng global options typed before `boxbuild`. */
  readonly kiwiGlobals: KiwiGlobals;
}): void {
  const command = options.program
    .command('boxbuild')
    .description(
      'kiwi-ng system boxbuild, compatible: kiwibox boxbuild --box NAME -- --description D --target-dir T [build options]',
    )
    .requiredOption('--box <name>', 'official box name, or host for the host box')
    .option('--box-memory <size>', 'guest memory, e.g. 8G')
    .option('--box-smp-cpus <n>', 'guest vCPUs')
    .option('--9p-sharing', 'share with 9p (default)')
    .option('--virtiofs-sharing', 'share with virtiofs')
    .option('--sshfs-sharing', "share over kiwibox's own SFTP server")
    .option('--x86_64', 'an x86_64 box (default)')
    .option('--aarch64', 'an aarch64 box')
    .option('--no-snapshot', 'let the build write the box disk')
    .option('--no-update-check', 'do not check for box updates')
    .option('--box-debug', 'keep the guest running after the build (kiwi-no-halt)')
    .option('--timeout <seconds>', 'power the box off after this long')
    .argument('[build-args...]', 'after --: --description D --target-dir T and kiwi-ng system build options');
  onAction(command, async (buildArgs: string[], opts: BoxbuildOptions, cmd: Command) => {
    const global = options.global(cmd);
    const { project, failures } = boxbuildProject({
      opts,
      buildArgs,
      kiwiGlobals: options.kiwiGlobals,
      cwd: global.cwd,
      argv: ['kiwibox', ...process.argv.slice(2)],
    });
    if (failures.length) {
      options.out.failures(failures);
      return EXIT.badInput;
    }
    const boxedBuild = createBoxedBuildExecutor({
      project,
      snapshot: opts.snapshot,
      noHalt: opts.boxDebug,
    });
    const { runProject } = await import('./run.js');
    return runProject({
      project,
      global,
      lookup: await executorsFor(project, { boxedBuild }),
      ...(options.kiwiGlobals.logfile ? { logfile: resolve(global.cwd, options.kiwiGlobals.logfile) } : {}),
    });
  });
}
