/**
 * Console patterns of a boot test: a plain substring, or `/regex/flags` (flags from `imsu`). Parsed
 * once at analysis, so a bad regex is a diagnostic at its place, never a failure mid-boot.
 */

/** What fails a boot at once unless the test says `default-fail-on: false`. */
export const DEFAULT_FAIL_ON: readonly string[] = [
  // The kernel gave up (no root fs, out of memory, init died).
  'Kernel panic - not syncing',
  // systemd's emergency.target.
  'You are in emergency mode',
  // dracut could not find or mount the root and drops to a shell.
  'Entering emergency mode',
  'Dropping to debug shell',
  // grub could not load the kernel or initrd (e.g. out of memory).
  'Failed to boot both default and fallback entries',
];

export interface ConsolePattern {
  /** As written in kiwibox.yaml. */
  readonly text: string;
  /** Index just past the first match in `line` at or after `from`, or -1. */
  find(line: string, from: number): number;
}

const REGEX = /^\/(.+)\/([imsu]*)$/s;

/** A pattern, or the reason it is not one (an invalid regex). */
export function parsePattern(text: string): ConsolePattern | { readonly error: string } {
  const regex = REGEX.exec(text);
  if (!regex) {
    return {
      text,
      find: (line, from) => {
        const at = line.indexOf(text, from);
        return at < 0 ? -1 : at + text.length;
      },
    };
  }
  let re: RegExp;
  try {
    re = new RegExp(regex[1] as string, `${regex[2] ?? ''}g`);
  } catch (error) {
    const why = (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return { error: `invalid regular expression ${text}: ${why}` };
  }
  return {
    text,
    find: (line, from) => {
      re.lastIndex = from;
      const match = re.exec(line);
      return match ? match.index + Math.max(match[0].length, 1) : -1;
    },
  };
}

/** Parses patterns already checked at analysis (an invalid one here is a bug). */
export function compilePatterns(texts: readonly string[]): ConsolePattern[] {
  return texts.map((text) => {
    const parsed = parsePattern(text);
    if ('error' in parsed) throw new Error(parsed.error);
    return parsed;
  });
}
