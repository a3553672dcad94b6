/**
 * Validation of `kiwi-args`: every option must be one kiwi-ng `system build` (or a global option)
 * takes, with a well-formed value. Nothing is dropped silently, unlike upstream boxbuild.
 */

interface OptionSpec {
  /** Takes a value (`--opt=V` or `--opt V`). */
  readonly value: boolean;
  /** Global kiwi-ng option: goes before `system build`. */
  readonly global?: boolean;
  /** Returns an error message for a malformed value. */
  readonly check?: (value: string) => string | undefined;
}

const REPO_PARTS =
  'type,alias,priority,imageinclude,package_gpgcheck,{signing_keys},components,distribution,repo_gpgcheck';

/** `--add-repo` makes a new repository: it needs its type. */
const addRepoSpec = (value: string) =>
  value.split(',').length < 2 || value.split(',')[0] === ''
    ? `expects source,type[,${REPO_PARTS.slice('type,'.length)}]`
    : undefined;

/**
 * `--set-repo` overwrites the description's first repository: every part after the source is
 * optional, an omitted one keeps the description's value (kiwi's XMLState.set_repository).
 */
const setRepoSpec = (value: string) =>
  value.split(',')[0] === '' ? `expects source[,${REPO_PARTS}]` : undefined;

/** kiwi-ng 9.24 `system build` options (see `kiwi-ng system build --help`) and global options. */
const OPTIONS: Readonly<Record<string, OptionSpec>> = {
  '--allow-existing-root': { value: false },
  '--clear-cache': { value: false },
  '--ignore-repos': { value: false },
  '--ignore-repos-used-for-build': { value: false },
  '--set-repo': { value: true, check: setRepoSpec },
  '--set-repo-credentials': { value: true },
  '--add-repo': { value: true, check: addRepoSpec },
  '--add-repo-credentials': { value: true },
  '--add-package': { value: true },
  '--add-bootstrap-package': { value: true },
  '--delete-package': { value: true },
  '--set-container-derived-from': { value: true },
  '--set-container-tag': { value: true },
  '--add-container-label': {
    value: true,
    check: (v) => (/^[^=]+=/.test(v) ? undefined : 'expects name=value'),
  },
  '--signing-key': { value: true },
  '--debug': { value: false, global: true },
  '--config': { value: true, global: true },
  '--loglevel': {
    value: true,
    global: true,
    check: (v) => (/^\d+$/.test(v) ? undefined : 'expects a number'),
  },
  '--shared-cache-dir': { value: true, global: true },
  '--temp-dir': { value: true, global: true },
  '--target-arch': { value: true, global: true },
  // Names the description file in the description dir (kiwibox reads the same one: description-file.ts).
  '--kiwi-file': {
    value: true,
    global: true,
    check: (v) =>
      v.includes('/') || v === '.' || v === '..'
        ? 'expects a file name in the description directory'
        : undefined,
  },
};

/** Options kiwibox sets itself, with the key to use instead. */
const OWNED: Readonly<Record<string, string>> = {
  '--description': "the build's 'description' key",
  '--target-dir': "the build's 'target-dir' key",
  '--type': "the build's 'type' key",
  '--profile': "the build's 'profiles' key",
  '--logfile': 'the step log in .kiwibox/logs (kiwibox writes it)',
};

export interface KiwiArgsProblem {
  /** Index in the kiwi-args list of the offending item. */
  readonly index: number;
  readonly reason: 'unknown-kiwi-option' | 'malformed-kiwi-option' | 'kiwibox-owned-option';
  readonly message: string;
}

export interface SplitKiwiArgs {
  /** Go before `system build`. */
  readonly global: string[];
  /** Go after `system build`. */
  readonly command: string[];
}

/** Checks and splits kiwi-args; problems name the list index so the caller can locate them. */
export function checkKiwiArgs(args: readonly string[]): {
  problems: KiwiArgsProblem[];
  split: SplitKiwiArgs;
} {
  const problems: KiwiArgsProblem[] = [];
  const split: SplitKiwiArgs = { global: [], command: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const owned = OWNED[name];
    if (owned) {
      problems.push({
        index: i,
        reason: 'kiwibox-owned-option',
        message: `${name} is set by kiwibox: use ${owned}`,
      });
      continue;
    }
    const spec = OPTIONS[name];
    if (!spec) {
      const hint = Object.keys(OPTIONS).find((o) => o.startsWith(name) || name.startsWith(o));
      problems.push({
        index: i,
        reason: 'unknown-kiwi-option',
        message: `'${arg}' is not a kiwi-ng system build option${hint ? ` (did you mean ${hint}?)` : ''}`,
      });
      continue;
    }
    const out = spec.global ? split.global : split.command;
    if (!spec.value) {
      if (eq > 0)
        problems.push({ index: i, reason: 'malformed-kiwi-option', message: `${name} takes no value` });
      else out.push(arg);
      continue;
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else if (i + 1 < args.length && !(args[i + 1] as string).startsWith('--')) value = args[++i];
    if (value === undefined || value === '') {
      problems.push({ index: i, reason: 'malformed-kiwi-option', message: `${name} needs a value` });
      continue;
    }
    const bad = spec.check?.(value);
    if (bad) {
      problems.push({
        index: eq > 0 ? i : i,
        reason: 'malformed-kiwi-option',
        message: `${name}=${value}: ${bad}`,
      });
      continue;
    }
    out.push(`${name}=${value}`);
  }
  return { problems, split };
}
