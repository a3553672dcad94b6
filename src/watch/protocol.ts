/**
 * What `kiwibox run`/`plan` and a running `kiwibox watch` say to each other over the socket in
 * `.kiwibox/watch/` (docs/freshness.md, "Asking a running watch"): one JSON line each way. Kept free
 * of heavy imports: the client loads this before anything of the project.
 */
import { closeSync, openSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROTOCOL = 1;

export interface AskRequest {
  readonly v: typeof PROTOCOL;
  /** The file the client would load (absolute). */
  readonly file: string;
  readonly targets: readonly string[];
  /** The client's environment: any difference that could reach a fingerprint means "don't know". */
  readonly env: Readonly<Record<string, string>>;
  /** A file the client created in the cookie dir after everything it wants seen (see serve.ts). */
  readonly cookie: string;
  /** codeIdentity() of the client: another build of kiwibox may decide freshness differently. */
  readonly code: string;
}

export type AskAnswer =
  | {
      readonly fresh: true;
      readonly pid: number;
      /** The selection in run order, as a no-op run reports it. */
      readonly steps: readonly { readonly id: string; readonly kind: string }[];
    }
  | { readonly fresh: false; readonly pid: number; readonly why: string };

/**
 * Variables that only shape a terminal or kiwibox's own output, never a fingerprint: they may
 * differ between the watch's terminal and the asking one. Every other variable must be equal.
 */
const TERMINAL_ONLY = new Set([
  '_',
  'CI',
  'PWD',
  'OLDPWD',
  'SHLVL',
  'TERM',
  'COLORTERM',
  'COLUMNS',
  'LINES',
  'NO_COLOR',
  'FORCE_COLOR',
  'WINDOWID',
  'TMUX',
  'TMUX_PANE',
  'STY',
  'SSH_TTY',
  'VTE_VERSION',
  'TERM_SESSION_ID',
  'TERM_PROGRAM',
  'TERM_PROGRAM_VERSION',
  'WT_SESSION',
  'KITTY_WINDOW_ID',
  'ALACRITTY_WINDOW_ID',
  'KONSOLE_DBUS_WINDOW',
  'KONSOLE_DBUS_SESSION',
  'GNOME_TERMINAL_SCREEN',
  'KIWIBOX_NO_WATCH',
  'KIWIBOX_WATCH_DEBUG',
  'KIWIBOX_WATCH_ASK_MS',
]);

/** The environment as the client sends it (terminal-only variables left out). */
export function comparableEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && !TERMINAL_ONLY.has(name)) out[name] = value;
  return out;
}

/** The first variable whose value differs, or undefined. */
export function envDifference(
  a: Readonly<Record<string, string>>,
  b: Readonly<Record<string, string>>,
): string | undefined {
  for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) if (a[name] !== b[name]) return name;
  return undefined;
}

/** Unix socket paths are limited to 107 bytes; longer ones go through an open fd of their directory. */
const SUN_PATH_MAX = 107;

/** An address for `file` that bind and connect accept, and what to release after. */
export function socketAddress(file: string): { readonly path: string; readonly release: () => void } {
  if (Buffer.byteLength(file) <= SUN_PATH_MAX) return { path: file, release: () => {} };
  const fd = openSync(dirname(file), 'r');
  return { path: `/proc/self/fd/${fd}/${basename(file)}`, release: () => closeSync(fd) };
}

/** Compiled files that decide freshness, relative to dist/ (tsc rewrites every file on each build). */
const IDENTITY_FILES = [
  'watch/protocol.js',
  'cli/main.js',
  'fingerprint/fingerprint.js',
  'fingerprint/decide.js',
  'fingerprint/inputs.js',
  'fingerprint/list-inputs.js',
  'state/record.js',
  'scheduler/plan.js',
  '../package.json',
];

/**
 * Which build of kiwibox this is: the path, inode, size and mtime of the compiled files that decide
 * freshness and of package.json. A rebuild (tsc rewrites every file) or an upgrade while a watch
 * runs changes it; a dozen stats, where walking all of dist/ cost the client 20 ms.
 */
export function codeIdentity(): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  return IDENTITY_FILES.map((name) => {
    const st = statSync(join(root, name), { throwIfNoEntry: false });
    return `${join(root, name)}:${st?.ino}:${st?.size}:${st?.mtimeMs}`;
  }).join('\n');
}
