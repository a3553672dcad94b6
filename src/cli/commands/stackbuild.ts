/**
 * The seed's `kiwibox stackbuild --stash N[:T]… [--from-registry R] --target-dir T
 * [--description D] [-- kiwi args]`: a one-step project with a stack step, run by the pipeline.
 */
import { resolve } from 'node:path';
import { compatPodmanSettings, stackbuildProject } from '../../executors/podman/compat.js';
import { onAction } from '../action.js';
import { NO_KIWI_GLOBALS } from '../kiwi-globals.js';
import { addPodmanOptions, type CompatCommandsOptions } from './stash.js';

interface StackbuildOptions {
  stash: string[];
  fromRegistry?: string;
  targetDir: string;
  description?: string;
  type?: string;
  profile: string[];
  keepDirlinks?: boolean;
  podmanRoot?: string;
  podmanRunroot?: string;
  podmanTmpdir?: string;
  storageDriver?: string;
  insecureRegistry?: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Registers `stackbuild` on `program`. */
export function registerStackbuildCommand(options: CompatCommandsOptions): void {
  const { program, io, run } = options;
  const globals = options.kiwiGlobals ?? NO_KIWI_GLOBALS;
  const command = addPodmanOptions(
    program
      .command('stackbuild')
      .description('stack stashes into TARGET/build/image-root and build (seed compatibility form)')
      .requiredOption(
        '--stash <name[:tag]>',
        'stash to stack, in order (repeatable)',
        collect,
        [] as string[],
      )
      .option('--from-registry <host[:port]>', 'pull every stash from this registry (fully qualified)')
      .requiredOption('--target-dir <dir>', 'build output directory')
      .option('--description <dir>', 'build this description on top (system build --allow-existing-root)')
      .option('--type <type>', 'kiwi-ng --type')
      .option('--profile <name>', 'kiwi-ng --profile (repeatable)', collect, [] as string[])
      .option('--keep-dirlinks', 'rsync -K: keep directory symlinks (usr-merged bases)')
      .argument('[kiwi-args...]', 'after --: options for the inner kiwi-ng system build/create'),
  );
  onAction(command, async (kiwiArgs: string[], options: StackbuildOptions) => {
    const cwd = process.cwd();
    if (globals.type !== undefined && options.type !== undefined) {
      io.error(
        `error[conflicting-option]: --type ${globals.type} before stackbuild and --type ${options.type} after it name the type twice: keep one`,
      );
      return 2;
    }
    const project = stackbuildProject({
      stashes: options.stash,
      fromRegistry: options.fromRegistry,
      targetDir: options.targetDir,
      description: options.description,
      type: globals.type ?? options.type,
      profiles: [...new Set([...globals.profiles, ...options.profile])],
      keepDirlinks: options.keepDirlinks,
      kiwiArgs: [...globals.args, ...kiwiArgs],
      cwd,
      podman: compatPodmanSettings(options, process.env, cwd),
    });
    if (!project.ok) {
      for (const failure of project.error) io.error(`error[${failure.reason}]: ${failure.message}`);
      return 2;
    }
    return run(project.value, globals.logfile ? { logfile: resolve(cwd, globals.logfile) } : {});
  });
}
