/**
 * `kiwibox stash list` and the seed's `kiwibox stash --root DIR [--container-name N] [--tag T]`,
 * `kiwibox stash --list` (`stackbuild` is in stackbuild.ts).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Project } from '../../core/model.js';
import {
  type CompatPodmanOptions,
  compatPodmanSettings,
  stashProject,
} from '../../executors/podman/compat.js';
import { listStashes, type StashListing } from '../../executors/podman/list.js';
import { onAction } from '../action.js';
import { type KiwiGlobals, NO_KIWI_GLOBALS } from '../kiwi-globals.js';

/** Where the commands print. */
export interface CommandIo {
  print(line: string): void;
  error(line: string): void;
}

/**
 * Runs a one-step project through the normal pipeline (fingerprints, reporters); returns the exit
 * code. `logfile`: kiwi-ng's `--logfile`, where the step logs are copied afterwards.
 */
export type ProjectRunner = (project: Project, options?: { logfile?: string }) => Promise<number>;

const BAD_INPUT = 2;

/** The kiwi-ng globals `stash` does not use (as upstream, which parses and ignores them): said, not dropped. */
export function noteUnusedGlobals(io: CommandIo, command: string, unused: readonly string[]): void {
  for (const typed of unused) io.error(`note: ${typed} is not used by ${command} (as with kiwi-ng)`);
}

/** The store options the compatibility commands take (else KIWIBOX_PODMAN_* variables). */
export function addPodmanOptions(command: Command): Command {
  return command
    .option('--podman-root <dir>', 'podman --root (image store); env KIWIBOX_PODMAN_ROOT')
    .option('--podman-runroot <dir>', 'podman --runroot; env KIWIBOX_PODMAN_RUNROOT')
    .option('--podman-tmpdir <dir>', 'podman --tmpdir; env KIWIBOX_PODMAN_TMPDIR')
    .option('--storage-driver <driver>', 'podman --storage-driver; env KIWIBOX_PODMAN_STORAGE_DRIVER')
    .option(
      '--insecure-registry <host:port>',
      'registry reached over plain HTTP (repeatable); env KIWIBOX_INSECURE_REGISTRIES',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    );
}

/** One line per stash tag: repository, tag, layers, short id, created. */
export function formatStashTable(stashes: readonly StashListing[]): string[] {
  if (stashes.length === 0) return ['no stashes'];
  const rows = [
    ['REPOSITORY', 'TAG', 'LAYERS', 'IMAGE ID', 'CREATED'],
    ...stashes.map((s) => [s.repository, s.tag, String(s.layers), s.id.slice(0, 12), s.created]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

async function printList(io: CommandIo, options: CompatPodmanOptions, json: boolean): Promise<number> {
  const cwd = process.cwd();
  const listed = await listStashes({ settings: compatPodmanSettings(options, process.env, cwd), cwd });
  if (!listed.ok) {
    for (const failure of listed.error) io.error(`error[${failure.reason}]: ${failure.message}`);
    return 1;
  }
  if (json) io.print(JSON.stringify(listed.value, null, 2));
  else for (const line of formatStashTable(listed.value)) io.print(line);
  return 0;
}

interface StashOptions extends CompatPodmanOptions {
  root?: string;
  containerName?: string;
  tag?: string;
  list?: boolean;
}

/** What the compatibility commands are registered with. */
export interface CompatCommandsOptions {
  readonly program: Command;
  readonly io: CommandIo;
  readonly run: ProjectRunner;
  /** kiwi-ng global options typed before the command. */
  readonly kiwiGlobals?: KiwiGlobals;
}

/**
 * Registers `stash` (with `stash list`) on `program` (`stackbuild`: stackbuild.ts). Exit codes: 0 ok, 1 failed,
 * 2 bad input, or whatever `run` returned.
 */
export function registerStashCommands(options: CompatCommandsOptions): void {
  const { program, io, run } = options;
  const globals = options.kiwiGlobals ?? NO_KIWI_GLOBALS;
  const logfile = globals.logfile ? { logfile: resolve(globals.logfile) } : {};
  const stash = addPodmanOptions(
    program
      .command('stash')
      .description('save a root tree as the OCI image localhost/NAME:TAG (seed compatibility form)')
      .option('--root <dir>', 'root tree to stash, e.g. TARGET/build/image-root')
      .option('--container-name <name>', 'image name (default: the image name in ROOT/image/config.xml)')
      .option('--tag <tag>', 'image tag', 'latest')
      .option('--list', 'list stashes as JSON (as `stash list --json`)'),
  );
  onAction(stash, async (options: StashOptions) => {
    noteUnusedGlobals(
      io,
      'stash',
      globals.typed.filter((t) => !t.startsWith('--logfile')),
    );
    if (options.list) return printList(io, options, true);
    if (!options.root) {
      io.error('error[missing-option]: give --root DIR (or use `kiwibox stash list`)');
      return BAD_INPUT;
    }
    const cwd = process.cwd();
    const project = await stashProject({
      root: options.root,
      containerName: options.containerName,
      tag: options.tag,
      cwd,
      podman: compatPodmanSettings(options, process.env, cwd),
    });
    if (!project.ok) {
      for (const failure of project.error) io.error(`error[${failure.reason}]: ${failure.message}`);
      return BAD_INPUT;
    }
    return run(project.value, logfile);
  });

  // The store options are the parent's (`kiwibox stash list --podman-root D` parses them on `stash`).
  onAction(
    stash
      .command('list')
      .description('stashes in podman (images with the KIWI labels), with tags and layer counts')
      .option('--json', 'print JSON'),
    async (_options: unknown, command: Command) => {
      const options = command.optsWithGlobals<CompatPodmanOptions & { json?: boolean }>();
      return printList(io, options, options.json ?? false);
    },
  );
}
