/**
 * Path confinement for the share server: maps an SFTP path to one shared directory and anchors every
 * file operation on a directory fd whose real location was verified to lie inside that share.
 *
 * Why fds: checking a path with realpath and then using it by name leaves a window in which a
 * component can be swapped for a symlink (by the client itself, through pipelined requests). So the
 * parent directory is opened, its true location read back from /proc/self/fd/N, and the operation
 * goes through `/proc/self/fd/N/<base>` (an openat() in effect) with O_NOFOLLOW on the last name.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';

/** A directory served under an absolute SFTP path. */
export interface Share {
  /** Absolute SFTP path the client uses (`/kiwidescription`, or a host path for official boxes). */
  readonly path: string;
  /** Host directory served there. */
  readonly dir: string;
  /** Every write, rename, remove, setstat, symlink and mkdir is refused. */
  readonly readOnly: boolean;
}

/** A share with its SFTP path normalised and its directory's real path resolved. */
export interface ResolvedShare extends Share {
  /** realpath(dir), fixed at server start: the confinement boundary. */
  readonly root: string;
}

/** Thrown inside request handlers and mapped to an SFTP status in one place (see handlers.ts). */
export class SftpDenied extends Error {
  constructor(
    readonly status: 'no-such-file' | 'permission-denied' | 'failure',
    message: string,
  ) {
    super(message);
  }
}

/** What an SFTP path names: a share (with components below its root), a virtual parent, or nothing. */
export type Location =
  | { readonly kind: 'share'; readonly share: ResolvedShare; readonly parts: readonly string[] }
  | { readonly kind: 'virtual'; readonly path: string; readonly children: readonly string[] };

/** Normalises an SFTP path: relative paths start at `/`, `..` never climbs above `/`. */
export function normalizeSftpPath(path: string): string {
  return posix.resolve('/', path);
}

/** True if `path` is `root` or below it (both real, absolute paths). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
}

/**
 * Where an SFTP path points. Undefined (→ NO_SUCH_FILE) for anything that is neither inside a share
 * nor an ancestor of one; `..` is resolved lexically first, so `/kiwidescription/../..` is `/`.
 */
export function locate(shares: readonly ResolvedShare[], rawPath: string): Location | undefined {
  if (rawPath.includes('\0')) return undefined;
  const path = normalizeSftpPath(rawPath);
  for (const share of shares) {
    if (isInside(share.path, path)) {
      const rest = path.slice(share.path.length).split('/').filter(Boolean);
      return { kind: 'share', share, parts: rest };
    }
  }
  const children = new Set<string>();
  for (const share of shares) {
    if (isInside(path, share.path) && share.path !== path) {
      const next = share.path.slice(path === '/' ? 1 : path.length + 1).split('/')[0];
      if (next) children.add(next);
    }
  }
  return children.size > 0 ? { kind: 'virtual', path, children: [...children].sort() } : undefined;
}

/** A verified directory fd plus the last path component to operate on. */
export interface Anchor {
  readonly share: ResolvedShare;
  /** Path usable with any fs call: `/proc/self/fd/N/<base>`, or `/proc/self/fd/N/.` for the share root. */
  readonly path: string;
  /** Last component (never empty, `.` or `..`), or '' when the anchor is the share root itself. */
  readonly base: string;
  /** Real path the anchor stood for when verified (for REALPATH answers). */
  readonly realPath: string;
  close(): Promise<void>;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

function errnoOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

const outside = (what: string) => new SftpDenied('no-such-file', `${what}: outside the share`);

async function realInside(share: ResolvedShare, path: string): Promise<string> {
  const real = await realpath(path);
  if (!isInside(share.root, real)) throw outside(path);
  return real;
}

/** Opens `dir` and checks, through the fd, that it really is inside the share. */
async function openVerifiedDir(share: ResolvedShare, dir: string): Promise<FileHandle> {
  const handle = await open(dir, DIR_FLAGS);
  try {
    const real = await readlink(`/proc/self/fd/${handle.fd}`);
    if (!isInside(share.root, real)) throw outside(dir);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Anchors a share location. `follow`: symlinks in the last component are resolved too (STAT, OPEN,
 * OPENDIR, SETSTAT, REALPATH); otherwise only the parent is (LSTAT, READLINK, REMOVE, RENAME, MKDIR,
 * RMDIR, SYMLINK). Every symlink met must resolve inside the share, or the path does not exist.
 */
export async function anchor(options: {
  readonly share: ResolvedShare;
  readonly parts: readonly string[];
  readonly follow: boolean;
}): Promise<Anchor> {
  const { share, parts } = options;
  let parentReal: string;
  let base = parts.at(-1) ?? '';
  if (base === '') {
    parentReal = share.root;
  } else {
    parentReal = await realInside(share, join(share.root, ...parts.slice(0, -1)));
    if (options.follow) {
      try {
        const full = await realInside(share, join(parentReal, base));
        if (full === share.root) {
          parentReal = full;
          base = '';
        } else {
          parentReal = dirname(full);
          base = basename(full);
        }
      } catch (error) {
        // Missing (or a dangling link): keep the name; O_NOFOLLOW refuses a link when it is used.
        if (errnoOf(error) !== 'ENOENT') throw error;
      }
    }
  }
  const dir = await openVerifiedDir(share, parentReal);
  const fdPath = `/proc/self/fd/${dir.fd}`;
  return {
    share,
    base,
    // `.` rather than the bare magic link, so lstat and O_NOFOLLOW see the directory itself.
    path: `${fdPath}/${base === '' ? '.' : base}`,
    realPath: base === '' ? parentReal : join(parentReal, base),
    close: () => dir.close(),
  };
}

/** Runs `fn` on an anchor and closes the directory fd afterwards, whatever happens. */
export async function withAnchor<T>(
  options: { readonly share: ResolvedShare; readonly parts: readonly string[]; readonly follow: boolean },
  fn: (anchor: Anchor) => Promise<T>,
): Promise<T> {
  const a = await anchor(options);
  try {
    return await fn(a);
  } finally {
    await a.close();
  }
}

/**
 * Opens a file or directory through an anchor with O_NOFOLLOW (a link swapped in after the check
 * fails with ELOOP) and verifies the opened fd's real path once more.
 */
export async function openAnchored(a: Anchor, flags: number, mode?: number): Promise<FileHandle> {
  const handle = await open(a.path, flags | constants.O_NOFOLLOW, mode);
  try {
    const real = await readlink(`/proc/self/fd/${handle.fd}`);
    if (!isInside(a.share.root, real)) throw outside(a.path);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The SFTP path for a real path inside a share (REALPATH answers). */
export function toSftpPath(share: ResolvedShare, real: string): string {
  const rest = real.slice(share.root.length);
  return share.path === '/' ? rest || '/' : `${share.path}${rest}`;
}

/** Resolves the shares at server start: absolute normalised paths, real directories, no overlaps. */
export async function resolveShares(shares: readonly Share[]): Promise<ResolvedShare[]> {
  const resolved: ResolvedShare[] = [];
  for (const share of shares) {
    const path = normalizeSftpPath(share.path);
    const root = await realpath(share.dir);
    for (const other of resolved) {
      if (isInside(other.path, path) || isInside(path, other.path)) {
        throw new SftpDenied('failure', `share paths ${other.path} and ${path} overlap`);
      }
    }
    resolved.push({ ...share, path, root });
  }
  return resolved;
}

export { errnoOf };
