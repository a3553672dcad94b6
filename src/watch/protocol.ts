/**
 * What `kiwibox run`/`plan` and a running `kiwibox watch` say to each other over the socket in
 * `.kiwibox/watch/` (docs/freshness.md, "Asking a running watch"): one JSON line each way. Kept free
 * of heavy imports: the client loads this before anything of the project.
 */
import { closeSync, openSync, readdirSync, statSync } from 'node:fs';
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

/**
 * Which build of kiwibox this is: the path, size and mtime of every file of the compiled code and of
 * package.json, folded into a short hash. A rebuild or upgrade while a watch runs changes it.
 */
export function codeIdentity(): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files = [join(root, '..', 'package.json')];
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true }))
    if (entry.isFile()) files.push(join(entry.parentPath, entry.name));
  let text = '';
  for (const file of files.sort()) {
    const st = statSync(file, { throwIfNoEntry: false });
    text += `${file}:${st?.size}:${st?.mtimeMs}\n`;
  }
  // FNV-1a, 2 x 32 bits: node:crypto would cost the client more to load than this whole walk.
  let a = 0x811c9dc5;
  let b = 0x12345678;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return `${(a >>> 0).toString(16)}${(b >>> 0).toString(16)}:${files.length}`;
}
