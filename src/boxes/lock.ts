/**
 * A small inter-process lock file: created with O_EXCL (`wx`), holding the owner's pid and process
 * start time. A lock whose owner is gone (or whose pid was reused by another process) is stale and
 * broken. Works between processes and between callers in one process alike.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { pidAlive } from '../core/fs.js';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';

interface Owner {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid apart. */
  readonly start?: string;
}

function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after it follow the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(owner: Owner): boolean {
  if (!pidAlive(owner.pid)) return false;
  const now = startTime(owner.pid);
  return owner.start === undefined || now === undefined || now === owner.start;
}

function parseOwner(text: string): Owner | undefined {
  try {
    const raw = JSON.parse(text) as Partial<Owner>;
    return typeof raw.pid === 'number'
      ? { pid: raw.pid, ...(raw.start ? { start: raw.start } : {}) }
      : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Breaks a stale lock without stealing a live one that replaced it meanwhile. */
async function breakStale(path: string, staleText: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch {
    return; // Someone else broke it first.
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  // Between our read and the rename another process may have taken the lock: give it back.
  if (moved !== staleText) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

export interface LockOptions {
  readonly signal?: AbortSignal;
  /** Called once when the lock is busy, with the owner's pid (for "waiting for …" lines). */
  readonly onWait?: (pid: number) => void;
  readonly pollMs?: number;
}

/** A held lock; `release` removes the file (idempotent). */
export interface Lock {
  release(): Promise<void>;
}

/** Waits until `path` can be created exclusively, then holds it. Fails only when aborted or on I/O errors. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<Result<Lock>> {
  const me = JSON.stringify({ pid: process.pid, start: startTime(process.pid) });
  let waited = false;
  let garbled = 0;
  for (;;) {
    if (options.signal?.aborted)
      return failWith({ reason: 'cancelled', message: `gave up waiting for lock ${path}` });
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(me);
      } finally {
        await handle.close();
      }
      let held = true;
      return ok({
        async release() {
          if (!held) return;
          held = false;
          await unlink(path).catch(() => undefined);
        },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        return failWith({
          reason: 'lock-error',
          message: `cannot create lock ${path}: ${errorMessage(error)}`,
        });
      }
    }
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // Released between open and read.
    const owner = parseOwner(text);
    // An unparsable file may be one being written right now: only break it once it stays so (~2 s).
    garbled = owner === undefined ? garbled + 1 : 0;
    if (owner === undefined ? garbled < 10 : alive(owner)) {
      if (!waited && owner) options.onWait?.(owner.pid);
      waited = true;
      await sleep(options.pollMs ?? 200, options.signal);
      continue;
    }
    await breakStale(path, text);
  }
}
