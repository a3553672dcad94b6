/**
 * The seed's `kiwibox stackbuild --stash N[:T]… [--from-registry R] --target-dir T
 * [--description D] [-- kiwi args]`: a one-step project with a stack step, run by the pipeline.
 */
import type { Command } from 'commander';
import { compatPodmanSettings, stackbuildProject } from '../../executors/podman/compat.js';
import { addPodmanOptions, type CommandIo, type ExitSink, type ProjectRunner } from './stash.js';

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
export function registerStackbuildCommand(
  program: Command,
  io: CommandIo,
  run: ProjectRunner,
  setExit: ExitSink,
): void {
  addPodmanOptions(
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
  ).action(async (kiwiArgs: string[], options: StackbuildOptions) => {
    const cwd = process.cwd();
    const project = stackbuildProject({
      stashes: options.stash,
      fromRegistry: options.fromRegistry,
      targetDir: options.targetDir,
      description: options.description,
      type: options.type,
      profiles: options.profile,
      keepDirlinks: options.keepDirlinks,
      kiwiArgs,
      cwd,
      podman: compatPodmanSettings(options, process.env, cwd),
    });
    if (!project.ok) {
      for (const failure of project.error) io.error(`error[${failure.reason}]: ${failure.message}`);
      setExit(2);
      return;
    }
    setExit(await run(project.value));
  });
}
