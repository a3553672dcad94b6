/**
 * Conversions between Node's fs world and SFTP's: stats → ATTRS, `ls -l` long names, open flags,
 * and errors → status codes.
 */
import { constants, type Stats } from 'node:fs';
import type { Attributes } from 'ssh2';
import ssh2 from 'ssh2';
import { errnoOf, SftpDenied } from './confine.js';

const { utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

/** SFTP ATTRS for a stat result (times in whole seconds, as SFTP v3 carries them). */
export function toAttrs(stats: Stats): Attributes {
  return {
    mode: stats.mode,
    uid: stats.uid,
    gid: stats.gid,
    size: stats.size,
    atime: Math.floor(stats.atimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

/** ATTRS of a read-only virtual directory (an ancestor of a share path). */
export function virtualDirAttrs(): Attributes {
  const now = Math.floor(Date.now() / 1000);
  return { mode: constants.S_IFDIR | 0o555, uid: 0, gid: 0, size: 0, atime: now, mtime: now };
}

function typeChar(mode: number): string {
  switch (mode & constants.S_IFMT) {
    case constants.S_IFDIR:
      return 'd';
    case constants.S_IFLNK:
      return 'l';
    case constants.S_IFCHR:
      return 'c';
    case constants.S_IFBLK:
      return 'b';
    case constants.S_IFIFO:
      return 'p';
    case constants.S_IFSOCK:
      return 's';
    default:
      return '-';
  }
}

function permString(mode: number): string {
  const rwx = (bits: number, special: boolean, specialChar: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${
      special ? (bits & 1 ? specialChar : specialChar.toUpperCase()) : bits & 1 ? 'x' : '-'
    }`;
  return (
    rwx((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    rwx((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    rwx(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}

/** An `ls -l` line, which READDIR replies carry next to each name (OpenSSH's `ls -l` prints it). */
export function longName(name: string, attrs: Attributes): string {
  const mode = attrs.mode ?? 0;
  const date = new Date((attrs.mtime ?? 0) * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return `${typeChar(mode)}${permString(mode)} 1 ${attrs.uid ?? 0} ${attrs.gid ?? 0} ${attrs.size ?? 0} ${date} ${name}`;
}

/**
 * Permission bits a client may set: setuid, setgid and sticky are dropped, so a guest cannot leave a
 * setuid program owned by the (possibly root) kiwibox user in a shared directory.
 */
export function safeMode(mode: number | undefined, fallback: number): number {
  return (mode ?? fallback) & 0o777;
}

/** True if SFTP open flags ask for any kind of write. */
export function wantsWrite(pflags: number): boolean {
  return (pflags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) !== 0;
}

/** SFTP open flags → open(2) flags. O_TRUNC is left to the caller (after the fd was verified). */
export function toOpenFlags(pflags: number): number {
  const read = (pflags & OPEN_MODE.READ) !== 0;
  const write = (pflags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND)) !== 0;
  let flags = read && write ? constants.O_RDWR : write ? constants.O_WRONLY : constants.O_RDONLY;
  if (pflags & OPEN_MODE.APPEND) flags |= constants.O_APPEND;
  if (pflags & OPEN_MODE.CREAT) flags |= constants.O_CREAT;
  if (pflags & OPEN_MODE.EXCL) flags |= constants.O_EXCL;
  // A FIFO in a share must not block a libuv worker thread forever.
  return flags | constants.O_NONBLOCK;
}

/** Maps a thrown error to an SFTP status code and a message for the client. */
export function toStatus(error: unknown): { code: number; message: string } {
  if (error instanceof SftpDenied) {
    const code =
      error.status === 'no-such-file'
        ? STATUS_CODE.NO_SUCH_FILE
        : error.status === 'permission-denied'
          ? STATUS_CODE.PERMISSION_DENIED
          : STATUS_CODE.FAILURE;
    return { code, message: error.message };
  }
  const errno = errnoOf(error);
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
      return { code: STATUS_CODE.NO_SUCH_FILE, message: 'No such file' };
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return { code: STATUS_CODE.PERMISSION_DENIED, message: 'Permission denied' };
    case 'ELOOP':
      // A symlink appeared where a checked name was: treat as absent rather than follow it.
      return { code: STATUS_CODE.NO_SUCH_FILE, message: 'No such file' };
    default:
      return { code: STATUS_CODE.FAILURE, message: errno ?? 'Failure' };
  }
}

export { OPEN_MODE, STATUS_CODE };
