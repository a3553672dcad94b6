/**
 * Path-based SFTP operations, each confined to its share through an anchored directory fd (see
 * confine.ts). They throw SftpDenied or fs errors; handlers.ts turns those into SFTP statuses.
 */
import { constants } from 'node:fs';
import {
  type FileHandle,
  lstat,
  mkdir,
  readdir,
  readlink,
  rename,
  rmdir,
  symlink,
  unlink,
} from 'node:fs/promises';
import type { Attributes, FileEntry } from 'ssh2';
import { longName, safeMode, toAttrs, virtualDirAttrs } from './attrs.js';
import {
  type Anchor,
  type Location,
  locate,
  openAnchored,
  type ResolvedShare,
  SftpDenied,
  toSftpPath,
  withAnchor,
} from './confine.js';

type ShareLocation = Extract<Location, { kind: 'share' }>;

/** Locates a path; anything outside the shares (and their virtual parents) does not exist. */
export function find(shares: readonly ResolvedShare[], path: string): Location {
  const location = locate(shares, path);
  if (!location) throw new SftpDenied('no-such-file', `${path}: no such file`);
  return location;
}

/** A path inside a share that may be changed: not read-only, not a virtual parent. */
export function findWritable(shares: readonly ResolvedShare[], path: string): ShareLocation {
  const location = find(shares, path);
  if (location.kind !== 'share' || location.share.readOnly) {
    throw new SftpDenied('permission-denied', `${path}: read-only`);
  }
  return location;
}

/** STAT (follow) or LSTAT (no follow). A link left after following is dangling or raced: absent. */
export async function statPath(shares: readonly ResolvedShare[], path: string, follow: boolean) {
  const location = find(shares, path);
  if (location.kind === 'virtual') return virtualDirAttrs();
  return withAnchor({ ...location, follow }, async (a) => {
    const stats = await lstat(a.path);
    if (follow && stats.isSymbolicLink()) throw new SftpDenied('no-such-file', `${path}: no such file`);
    return toAttrs(stats);
  });
}

/** REALPATH: the canonical SFTP path (links resolved inside the share; last component may be missing). */
export async function realPath(shares: readonly ResolvedShare[], path: string): Promise<string> {
  const location = find(shares, path);
  if (location.kind === 'virtual') return location.path;
  return withAnchor({ ...location, follow: true }, async (a) => toSftpPath(a.share, a.realPath));
}

/** Applies SETSTAT/FSETSTAT attributes to an open file handle. */
export async function applyAttrs(fh: FileHandle, attrs: Partial<Attributes>): Promise<void> {
  if (attrs.size !== undefined) await fh.truncate(attrs.size);
  if (attrs.uid !== undefined && attrs.gid !== undefined) {
    // Files belong to the user running kiwibox; handing them to another owner (root's power when
    // kiwibox runs as root) is refused, a chown to that same user is a no-op and allowed.
    if (attrs.uid !== process.getuid?.() || attrs.gid !== process.getgid?.()) {
      throw new SftpDenied('permission-denied', 'changing the owner is not allowed');
    }
  }
  if (attrs.mode !== undefined) await fh.chmod(safeMode(attrs.mode, 0));
  if (attrs.atime !== undefined && attrs.mtime !== undefined) await fh.utimes(attrs.atime, attrs.mtime);
}

/** SETSTAT by path: the target is opened (O_NOFOLLOW, verified) and changed through its fd. */
export async function setStat(shares: readonly ResolvedShare[], path: string, attrs: Partial<Attributes>) {
  const location = findWritable(shares, path);
  await withAnchor({ ...location, follow: true }, async (a) => {
    const flags = attrs.size !== undefined ? constants.O_WRONLY : constants.O_RDONLY;
    const fh = await openAnchored(a, flags | constants.O_NONBLOCK);
    try {
      await applyAttrs(fh, attrs);
    } finally {
      await fh.close();
    }
  });
}

function refuseRoot(a: Anchor, path: string): void {
  if (a.base === '') throw new SftpDenied('permission-denied', `${path}: the share itself cannot be changed`);
}

export async function makeDir(shares: readonly ResolvedShare[], path: string, attrs: Partial<Attributes>) {
  const location = findWritable(shares, path);
  await withAnchor({ ...location, follow: false }, async (a) => {
    refuseRoot(a, path);
    await mkdir(a.path, { mode: safeMode(attrs.mode, 0o755) });
  });
}

export async function removeDir(shares: readonly ResolvedShare[], path: string) {
  const location = findWritable(shares, path);
  await withAnchor({ ...location, follow: false }, async (a) => {
    refuseRoot(a, path);
    await rmdir(a.path);
  });
}

export async function removeFile(shares: readonly ResolvedShare[], path: string) {
  const location = findWritable(shares, path);
  await withAnchor({ ...location, follow: false }, async (a) => {
    refuseRoot(a, path);
    await unlink(a.path);
  });
}

/** RENAME (replacing an existing target, as POSIX rename does); both ends in writable shares. */
export async function renamePath(shares: readonly ResolvedShare[], from: string, to: string) {
  const source = findWritable(shares, from);
  const target = findWritable(shares, to);
  await withAnchor({ ...source, follow: false }, (a) =>
    withAnchor({ ...target, follow: false }, async (b) => {
      refuseRoot(a, from);
      refuseRoot(b, to);
      await rename(a.path, b.path);
    }),
  );
}

export async function readLink(shares: readonly ResolvedShare[], path: string): Promise<string> {
  const location = find(shares, path);
  if (location.kind === 'virtual') throw new SftpDenied('failure', `${path}: not a link`);
  return withAnchor({ ...location, follow: false }, async (a) => {
    if (a.base === '') throw new SftpDenied('failure', `${path}: not a link`);
    return readlink(a.path);
  });
}

/**
 * True if a link target, read relative to the link's directory, stays inside the share. Absolute
 * targets are refused: on the host they would name host paths, not share paths.
 */
export function targetStaysInside(linkParts: readonly string[], target: string): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return false;
  const stack = linkParts.slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return false;
      stack.pop();
    } else {
      stack.push(part);
    }
  }
  return true;
}

/** SYMLINK: created only in a writable share, and only if its target stays inside that share. */
export async function makeSymlink(shares: readonly ResolvedShare[], linkPath: string, target: string) {
  const location = findWritable(shares, linkPath);
  if (!targetStaysInside(location.parts, target)) {
    throw new SftpDenied('permission-denied', `${linkPath} -> ${target}: link would point outside the share`);
  }
  await withAnchor({ ...location, follow: false }, async (a) => {
    refuseRoot(a, linkPath);
    await symlink(target, a.path);
  });
}

/** The listing of a directory fd (names, ATTRS without following links, long names). */
export async function listDir(dirFdPath: string): Promise<FileEntry[]> {
  const names = await readdir(dirFdPath);
  const entries: FileEntry[] = [];
  for (const filename of names) {
    try {
      const attrs = toAttrs(await lstat(`${dirFdPath}/${filename}`));
      entries.push({ filename, longname: longName(filename, attrs), attrs });
    } catch {
      // Removed between readdir and lstat: leave it out.
    }
  }
  return entries;
}

/** The listing of a virtual parent directory: the next components of the share paths. */
export function listVirtual(children: readonly string[]): FileEntry[] {
  const attrs = virtualDirAttrs();
  return children.map((filename) => ({ filename, longname: longName(filename, attrs), attrs }));
}
