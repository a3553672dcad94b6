/**
 * The `kiwibox` command line: parses options, runs one command, maps its result to an exit code
 * (0 ok, 1 a step failed, 2 bad input, 130 interrupted). A thrown exception is an internal bug.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { Project } from '../core/model.js';
import { terminalOutput } from '../reporters/output.js';
import { exitCodeOf, onAction } from './action.js';
import type { GraphFormat } from './commands/graph.js';
import { type KiwiGlobals, takeKiwiGlobals } from './kiwi-globals.js';
import { EXIT, globalOptions, type RawGlobalOptions } from './options.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expects a whole number of 1 or more');
  return n;
}

export function buildProgram(): Command {
  const out = terminalOutput(process.cwd());
  // Command modules are imported when their command runs: `--version` and `--help` stay instant.
  const program = new Command('kiwibox')
    .description(
      'Declarative KIWI NG image pipelines: boxed builds, stashes and stacks, incremental and explained.',
    )
    .version(VERSION, '--version')
    .option('-f, --file <file>', 'pipeline file', 'kiwibox.yaml')
    .option('-C, --directory <dir>', 'change to this directory first')
    .option('-j, --jobs <n>', 'parallel slots (default: number of cores)', positiveInt)
    .option('--keep-going', 'keep starting independent steps after a failure')
    .option('--force', 'run steps even when fresh')
    .addOption(new Option('--reporter <name>', 'output style').choices(['plain', 'status', 'ndjson']))
    .option('--cache <store>', 'team cache: a registry repository or http(s) URL (env KIWIBOX_CACHE)')
    .option('--cache-mode <mode>', 'read-write, read-only or off (env KIWIBOX_CACHE_MODE)')
    .option('--cache-key-file <file>', 'signing key for cache writes (env KIWIBOX_CACHE_KEY_FILE)')
    .option('--cache-namespace <name>', 'write the cache under this namespace, e.g. pr-123')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.print(s.trimEnd()), writeErr: (s) => out.error(s.trimEnd()) });
  const global = (cmd: Command) => globalOptions(cmd.optsWithGlobals() as RawGlobalOptions);

  onAction(
    program
      .command('run', { isDefault: true })
      .description('run the pipeline (or the named steps and what they depend on)')
      .argument('[steps...]')
      .option('--profile <file>', "write the run's timeline to <file> (Chrome trace format, for Perfetto)")
      .option('--no-watch', 'do not ask a running `kiwibox watch`: always check in full'),
    async (steps: string[], o: { profile?: string; watch: boolean }, cmd: Command) =>
      // A watch running on the project may vouch for a no-op before anything else loads.
      (await (
        await import('./commands/watch-answer.js')
      ).runFromWatch(global(cmd), steps, out, {
        noWatch: !o.watch,
        ...(o.profile !== undefined ? { profile: o.profile } : {}),
      })) ?? (await import('./commands/run.js')).runCommand(global(cmd), steps, out, o),
  );
  onAction(
    program
      .command('plan')
      .description('show what would run and why, running nothing')
      .argument('[steps...]')
      .option('--json', 'machine-readable')
      .option('--no-watch', 'do not ask a running `kiwibox watch`: always check in full'),
    async (steps: string[], o: { json?: boolean; watch: boolean }, cmd: Command) =>
      (await (
        await import('./commands/watch-answer.js')
      ).planFromWatch(global(cmd), steps, out, {
        noWatch: !o.watch,
        json: o.json ?? false,
      })) ?? (await import('./commands/plan.js')).planCommand(global(cmd), steps, o.json ?? false, out),
  );
  onAction(
    program.command('validate').description('check the pipeline file and the descriptions it uses'),
    async (_o, cmd: Command) => (await import('./commands/validate.js')).validateCommand(global(cmd), out),
  );
  onAction(
    program
      .command('graph')
      .description('print the dependency graph')
      .addOption(
        new Option('--format <format>', 'output format').choices(['dot', 'mermaid', 'json']).default('dot'),
      ),
    async (o: { format: GraphFormat }, cmd: Command) =>
      (await import('./commands/graph.js')).graphCommand(global(cmd), o.format, out),
  );
  const watch = program
    .command('watch')
    .description('run, then re-run exactly what each file change affects, until Ctrl-C')
    .argument('[steps...]')
    .addOption(
      new Option('--on-change <what>', 'a change to a running step')
        .choices(['cancel', 'finish'])
        .default('cancel'),
    )
    .option('--debounce <ms>', 'wait this long for more changes', positiveInt, 50)
    .option(
      '--poll <ms>',
      'poll files every <ms> instead of file system events (network/VM shares)',
      positiveInt,
    )
    .option('--profile <file>', 'write the timeline of the runs to <file> (Chrome trace format)');
  onAction(
    watch,
    async (
      steps: string[],
      o: { onChange: 'cancel' | 'finish'; debounce: number; poll?: number; profile?: string },
      cmd: Command,
    ) => {
      const profile = (await import('./commands/run.js')).profileFile(global(cmd), o.profile, out);
      if (profile === false) return EXIT.badInput;
      return (await import('./commands/watch.js')).watchCommand(
        global(cmd),
        steps,
        {
          onChange: o.onChange,
          debounceMs: o.debounce,
          ...(o.poll ? { pollMs: o.poll } : {}),
          ...(profile ? { profile } : {}),
        },
        out,
      );
    },
  );
  onAction(
    program.command('why').description('explain why a step would run (or is fresh)').argument('<step>'),
    async (step: string, _o, cmd: Command) =>
      (await import('./commands/why.js')).whyCommand(global(cmd), step, out),
  );
  onAction(
    program
      .command('clean')
      .description('remove what steps produced, and their records')
      .argument('[steps...]'),
    async (steps: string[], _o, cmd: Command) =>
      (await import('./commands/clean.js')).cleanCommand(global(cmd), steps, out),
  );
  onAction(
    program
      .command('__slurm-step', { hidden: true })
      .description('internal: run one step inside a Slurm job')
      .argument('<request>')
      .option('--inline', 'the request is the JSON itself (no shared filesystem), not a file'),
    async (request: string, o: { inline?: boolean }) =>
      o.inline
        ? (await import('./commands/slurm-node.js')).slurmNodeCommand(request, out)
        : (await import('./commands/slurm-step.js')).slurmStepCommand(request, out),
  );
  const cache = program.command('cache').description('the team cache (docs/cache.md)');
  onAction(
    cache
      .command('keygen')
      .description('make an ed25519 key pair: the secret into FILE (mode 0600), the public key printed')
      .argument('<name>', 'key name, e.g. ci-1')
      .argument('<file>', 'where the secret key goes'),
    async (name: string, file: string) =>
      (await import('./commands/cache.js')).keygenCommand({ name, file, out }),
  );
  onAction(
    cache
      .command('verify')
      .description("check steps' entries as a restore would (signature, every digest), writing nothing")
      .argument('[steps...]'),
    async (steps: string[], _o, cmd: Command) =>
      (await import('./commands/cache.js')).verifyCommand(global(cmd), steps, out),
  );
  onAction(
    cache
      .command('push')
      .description('upload the entries of steps that are fresh here (read-write, signing key)')
      .argument('[steps...]'),
    async (steps: string[], _o, cmd: Command) =>
      (await import('./commands/cache.js')).pushCommand(global(cmd), steps, out),
  );
  onAction(
    cache
      .command('prune')
      .description(
        'delete entries whose step finished longer ago than DURATION (trusted or --cache-namespace)',
      )
      .requiredOption('--older-than <duration>', 'e.g. 30d, 12h, 90m')
      .option('--dry-run', 'print what would be deleted, delete nothing'),
    async (o: { olderThan: string; dryRun?: boolean }, cmd: Command) =>
      (await import('./commands/cache-prune.js')).pruneCommand({
        global: global(cmd),
        olderThan: o.olderThan,
        dryRun: o.dryRun === true,
        out,
      }),
  );
  onAction(
    cache.command('status').description('show the team cache the project and flags configure'),
    async (_o, cmd: Command) => (await import('./commands/cache.js')).statusCommand(global(cmd), out),
  );
  return program;
}

/** Commands whose modules pull in QEMU, podman, undici or ssh2 code. */
const HEAVY_COMMANDS = ['box', 'boxbuild', 'stash', 'stackbuild'];

/**
 * Registers the box, stash and compatibility commands. Their modules are heavy, so they are loaded
 * only when the command line may name one of them (or asks for help).
 */
async function registerHeavyCommands(options: {
  readonly program: Command;
  readonly argv: readonly string[];
  readonly kiwiGlobals: KiwiGlobals;
}): Promise<void> {
  const { program, argv, kiwiGlobals } = options;
  const help = argv.some((a) => a === '--help' || a === '-h' || a === 'help');
  if (!help && !argv.some((a) => HEAVY_COMMANDS.includes(a))) return;
  const out = terminalOutput(process.cwd());
  const global = (cmd: Command) => globalOptions(cmd.optsWithGlobals() as RawGlobalOptions);
  const [
    { registerBoxCommands },
    { registerBoxbuildCommand },
    { registerStashCommands },
    { registerStackbuildCommand },
  ] = await Promise.all([
    import('./commands/box.js'),
    import('./commands/boxbuild.js'),
    import('./commands/stash.js'),
    import('./commands/stackbuild.js'),
  ]);
  const runOne = async (project: Project, run: { logfile?: string } = {}) =>
    (await import('./commands/run.js')).runProject({ project, global: global(program), ...run });
  registerBoxCommands(program, out);
  registerBoxbuildCommand({ program, out, global, kiwiGlobals });
  registerStashCommands({ program, io: out, run: runOne, kiwiGlobals });
  registerStackbuildCommand({ program, io: out, run: runOne, kiwiGlobals });
}

export async function main(args: readonly string[]): Promise<number> {
  const { argv, globals: kiwiGlobals } = takeKiwiGlobals(args);
  const program = buildProgram();
  await registerHeavyCommands({ program, argv, kiwiGlobals });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    throw error;
  }
  return exitCodeOf(program) ?? EXIT.ok;
}
