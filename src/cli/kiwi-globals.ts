/**
 * kiwi-ng's global options (`kiwi-ng --type iso system boxbuild …`) typed before a compatibility
 * command: `kiwibox --type iso boxbuild …`. They are taken out of the command line before commander
 * sees it and handed to `boxbuild`, `stash` and `stackbuild`; before any other command they stay
 * where they are, so commander refuses them as unknown options.
 */

/** kiwi-ng 9.24 global options (`kiwi-ng --help`) and whether they take a value. */
const KIWI_GLOBALS: Readonly<Record<string, boolean>> = {
  '--profile': true,
  '--shared-cache-dir': true,
  '--temp-dir': true,
  '--target-arch': true,
  '--type': true,
  '--logfile': true,
  '--logsocket': true,
  '--loglevel': true,
  '--debug': false,
  '--debug-run-scripts-in-screen': false,
  '--color-output': false,
  '--config': true,
  '--kiwi-file': true,
};

/** kiwibox's own global options that take a value (their value is never a command name). */
const KIWIBOX_VALUE_OPTIONS = new Set(['-f', '--file', '-C', '--directory', '-j', '--jobs', '--reporter']);

/** The commands that take kiwi-ng's global options, as kiwi-ng's `system` commands do. */
export const KIWI_COMMANDS: readonly string[] = ['boxbuild', 'stash', 'stackbuild'];

export interface KiwiGlobals {
  readonly type?: string;
  readonly profiles: readonly string[];
  /** `--logfile FILE`: the run's step logs are copied there afterwards. */
  readonly logfile?: string;
  /** The other globals as `--name` or `--name=value`, for the kiwi-args check. */
  readonly args: readonly string[];
  /** Each global as typed (for messages). */
  readonly typed: readonly string[];
}

export const NO_KIWI_GLOBALS: KiwiGlobals = { profiles: [], args: [], typed: [] };

/** Splits kiwi-ng globals off the front of `argv` when the command is one of KIWI_COMMANDS. */
export function takeKiwiGlobals(argv: readonly string[]): { argv: string[]; globals: KiwiGlobals } {
  const kept: string[] = [];
  const taken: Array<{ name: string; value?: string; typed: string }> = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--' || !arg.startsWith('-')) break;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const takesValue = KIWI_GLOBALS[name];
    if (takesValue === undefined) {
      kept.push(arg);
      if (eq < 0 && KIWIBOX_VALUE_OPTIONS.has(arg) && i + 1 < argv.length) kept.push(argv[++i] as string);
      continue;
    }
    if (!takesValue || eq > 0) {
      taken.push({ name, ...(eq > 0 ? { value: arg.slice(eq + 1) } : {}), typed: arg });
    } else if (i + 1 < argv.length) {
      const value = argv[++i] as string;
      taken.push({ name, value, typed: `${arg} ${value}` });
    } else {
      kept.push(arg);
    }
  }
  const command = argv[i];
  if (taken.length === 0 || command === undefined || !KIWI_COMMANDS.includes(command)) {
    return { argv: [...argv], globals: NO_KIWI_GLOBALS };
  }
  let type: string | undefined;
  let logfile: string | undefined;
  const profiles: string[] = [];
  const args: string[] = [];
  for (const t of taken) {
    if (t.name === '--type') type = t.value;
    else if (t.name === '--profile' && t.value !== undefined) profiles.push(t.value);
    else if (t.name === '--logfile') logfile = t.value;
    else args.push(t.value === undefined ? t.name : `${t.name}=${t.value}`);
  }
  return {
    argv: [...kept, ...argv.slice(i)],
    globals: {
      ...(type === undefined ? {} : { type }),
      ...(logfile === undefined ? {} : { logfile }),
      profiles,
      args,
      typed: taken.map((t) => t.typed),
    },
  };
}
