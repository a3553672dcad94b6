/**
 * A minimal `newc` cpio writer for the host box initramfs: directories, regular files and symlinks,
 * root-owned, mtime 0, inode numbers by position, so the same inputs always give the same bytes
 * (no cpio/gzip processes, no root needed).
 */

export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly path: string; readonly data: Buffer; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string };

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function record(ino: number, mode: number, name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [ino, mode, 0, 0, mode & 0o040000 ? 2 : 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map(hex8).join('')}`, 'ascii');
  return Buffer.concat([
    header,
    nameBytes,
    Buffer.alloc(pad4(header.length + nameBytes.length)),
    data,
    Buffer.alloc(pad4(data.length)),
  ]);
}

/** The archive bytes; entries are sorted by path so parents come before children. */
export function cpioArchive(entries: readonly CpioEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts = sorted.map((entry, i) => {
    const name = entry.path.replace(/^\/+/, '');
    switch (entry.kind) {
      case 'dir':
        return record(i + 1, 0o040000 | (entry.mode ?? 0o755), name, Buffer.alloc(0));
      case 'file':
        return record(i + 1, 0o100000 | (entry.mode ?? 0o644), name, entry.data);
      default:
        return record(i + 1, 0o120000 | 0o777, name, Buffer.from(entry.target));
    }
  });
  parts.push(record(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
