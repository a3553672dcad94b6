/**
 * Directory listings remembered between runs (`.kiwibox/dir-cache.json`), in the spirit of git's
 * untracked cache: a listing is reused while the directory's identity (dev, ino) and timestamps
 * (mtime, ctime) are what they were when it was read. Adding, removing or renaming an entry moves
 * both timestamps of the directory on the local file systems trusted here (TRUSTED_FS); elsewhere
 * (NFS, 9p, virtiofs and other FUSE mounts, CIFS, …: timestamps set by another machine, or by a
 * cache that may lag) every listing is read again. Files are not covered: their own stats are
 * checked by the caller.
 *
 * The racy case: a directory changed in the same timestamp tick as, but after, its listing keeps
 * its mtime. So a listing is kept only if the directory's timestamps were RACY_MS older than the
 * moment the listing started; a younger one is read again next time (and kept then).
 */
import { type Dirent, lstatSync, readdirSync, readFileSync, type Stats, statfsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../core/fs.js';

/** Entry types: `d` directory, `f` regular file, `o` anything else (symlink, fifo, socket, device). */
export interface Listing {
  readonly names: readonly string[];
  readonly types: string;
}

/** Longer than any local file system's timestamp granularity (1 s on some, the kernel's tick on most). */
export const RACY_MS = 2000;

const FORMAT = 2;

/**
 * statfs f_type of the file systems whose directory timestamps move with every entry change made
 * on this machine: ext2/3/4, xfs, btrfs, tmpfs, overlayfs, zfs, f2fs, bcachefs.
 */
const TRUSTED_FS = new Set([
  0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x794c7630, 0x2fc12fc1, 0xf2f52010, 0xca451a4e,
]);

/** Whether `path`'s file system is one of those (also where inotify sees every local change). */
export function trustedFileSystem(path: string): boolean {
  try {
    return TRUSTED_FS.has(statfsSync(path).type);
  } catch {
    return false;
  }
}

type Entry = [
  dev: number,
  ino: number,
  mtimeMs: number,
  ctimeMs: number,
  names: string | string[],
  types: string,
];

const typeOf = (d: Dirent) => (d.isDirectory() ? 'd' : d.isFile() ? 'f' : 'o');

/** The directory's listing read now; undefined if it cannot be read. */
export function readListing(dir: string): Listing | undefined {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  const names: string[] = new Array(entries.length);
  let types = '';
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as Dirent;
    names[i] = entry.name;
    types += typeOf(entry);
  }
  return { names, types };
}

export class DirListings {
  readonly #file: string;
  /** Keys are paths relative to the project dir (`.kiwibox/..`) when inside it: a smaller file. */
  readonly #base: string;
  #loaded: Map<string, Entry> | undefined;
  #dirty = false;
  /** st_dev → are directory timestamps trusted there (one statfs per file system and process). */
  readonly #trust = new Map<number, boolean>();
  /** Directories looked up in this process: what a save keeps when the rest has grown large. */
  readonly #seen = new Set<string>();
  /** Directories actually read (for tests and benchmarks). */
  reads = 0;

  constructor(file: string) {
    this.#file = file;
    this.#base = `${dirname(dirname(file))}/`;
  }

  get #entries(): Map<string, Entry> {
    if (!this.#loaded) {
      this.#loaded = new Map();
      try {
        const data = JSON.parse(readFileSync(this.#file, 'utf8')) as { v: number; e: Record<string, Entry> };
        if (data.v === FORMAT) this.#loaded = new Map(Object.entries(data.e));
      } catch {
        // No cache yet, or unreadable: start empty.
      }
    }
    return this.#loaded;
  }

  /** Whether listings on the file system of `dir` (device `dev`) may be reused. */
  trusted(dev: number, dir: string): boolean {
    let trust = this.#trust.get(dev);
    if (trust === undefined) {
      trust = trustedFileSystem(dir);
      this.#trust.set(dev, trust);
    }
    return trust;
  }

  /**
   * The listing of `dir`, or undefined if it is not a directory. `follow`: a symlink to a
   * directory counts (the root of a walk); below the root, links are entries, not directories.
   */
  list(dir: string, follow = false): Listing | undefined {
    const startedMs = Date.now();
    // Stat before reading: a change between the two then shows as a moved timestamp next time.
    const st = follow ? statSync(dir, { throwIfNoEntry: false }) : lstatSync(dir, { throwIfNoEntry: false });
    const key = dir.startsWith(this.#base) ? dir.slice(this.#base.length) : dir;
    if (!st?.isDirectory()) {
      if (this.#loaded?.delete(key)) this.#dirty = true;
      return undefined;
    }
    const trusted = this.trusted(st.dev, dir);
    const entries = this.#entries;
    this.#seen.add(key);
    const known = trusted ? entries.get(key) : undefined;
    if (known && same(known, st)) {
      if (typeof known[4] === 'string') known[4] = known[4] === '' ? [] : known[4].split('/');
      return { names: known[4], types: known[5] };
    }
    const listing = readListing(dir);
    this.reads++;
    if (listing && trusted && Math.max(st.mtimeMs, st.ctimeMs) < startedMs - RACY_MS) {
      entries.set(key, [st.dev, st.ino, st.mtimeMs, st.ctimeMs, [...listing.names], listing.types]);
      this.#dirty = true;
    } else if (entries.delete(key)) this.#dirty = true;
    return listing;
  }

  async save(): Promise<void> {
    if (!this.#dirty || !this.#loaded) return;
    this.#dirty = false;
    const e: Record<string, Entry> = {};
    // Directories gone or out of use stay until they outnumber the ones in use.
    const prune = this.#loaded.size > 2 * this.#seen.size + 1000;
    for (const [dir, [dev, ino, m, c, names, types]] of this.#loaded) {
      if (prune && !this.#seen.has(dir)) continue;
      // A name never contains a slash: joined, the listing is one string to parse, not many.
      e[dir] = [dev, ino, m, c, typeof names === 'string' ? names : names.join('/'), types];
    }
    await writeFileAtomic(this.#file, JSON.stringify({ v: FORMAT, e }));
  }
}

const same = (e: Entry, st: Stats) =>
  e[2] === st.mtimeMs && e[3] === st.ctimeMs && e[1] === st.ino && e[0] === st.dev;
