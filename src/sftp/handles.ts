/**
 * The open-handle table of one SFTP session: files and directories opened by OPEN/OPENDIR, keyed by
 * a 4-byte handle. Bounded, so a client cannot exhaust the process's file descriptors, and closed
 * all at once when the session ends.
 */
import type { FileHandle } from 'node:fs/promises';
import type { FileEntry } from 'ssh2';
import type { ResolvedShare } from './confine.js';

export type HandleEntry =
  | {
      readonly kind: 'file';
      readonly fh: FileHandle;
      readonly share: ResolvedShare;
      readonly writable: boolean;
    }
  | {
      readonly kind: 'dir';
      /** Open directory fd (listing goes through /proc/self/fd/N); absent for a virtual directory. */
      readonly fh?: FileHandle;
      readonly share?: ResolvedShare;
      /** Filled on the first READDIR; served in pages. */
      entries?: FileEntry[];
      position: number;
    };

/** Default cap on handles open at once in one session. */
export const DEFAULT_MAX_HANDLES = 512;

export class HandleTable {
  private readonly entries = new Map<number, HandleEntry>();
  private next = 1;

  constructor(private readonly max: number = DEFAULT_MAX_HANDLES) {}

  /** True if another handle may be opened. */
  hasRoom(): boolean {
    return this.entries.size < this.max;
  }

  /** Stores an entry and returns its wire handle. */
  add(entry: HandleEntry): Buffer {
    let id = this.next;
    while (this.entries.has(id)) id = (id % 0xffffffff) + 1;
    this.next = (id % 0xffffffff) + 1;
    this.entries.set(id, entry);
    const handle = Buffer.alloc(4);
    handle.writeUInt32BE(id);
    return handle;
  }

  /** The entry for a wire handle, if it is one of ours. */
  get(handle: Buffer): HandleEntry | undefined {
    return handle.length === 4 ? this.entries.get(handle.readUInt32BE()) : undefined;
  }

  /** Removes and closes an entry; false if the handle is unknown. */
  async close(handle: Buffer): Promise<boolean> {
    const entry = this.get(handle);
    if (!entry) return false;
    this.entries.delete(handle.readUInt32BE());
    await entry.fh?.close();
    return true;
  }

  /** Closes everything (session end). Errors are ignored: the fds are gone either way. */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((entry) => entry.fh?.close().catch(() => undefined)));
  }
}
