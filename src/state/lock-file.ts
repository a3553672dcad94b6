/**
 * The one inter-process lock file (box store, host box, steps): the owner's pid and process start
 * time, written to a temp file first and linked into place, so a lock is never seen half-written.
 * A lock whose owner is gone (or whose pid was reused by another process) is stale and broken
 * without stealing a live lock that replaced it. Works between processes and callers in one process.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { processAlive, processStartTime } from '../core/fs.js';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';

interface Owner {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid apart. */
  readonly start?: string;
}

function alive(owner: Owner): boolean {
  return processAlive(owner.pid, owner.start);
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

/** Held, or busy with the live owner's pid. */
export type LockAttempt = { readonly held: Lock } | { readonly owner: number };

function heldLock(path: string): Lock {
  let held = true;
  return {
    async release() {
      if (!held) return;
      held = false;
      await unlink(path).catch(() => undefined);
    },
  };
}

/** One attempt without waiting: takes the lock (breaking a stale one) or names its live owner. */
export async function tryLock(path: string): Promise<Result<LockAttempt>> {
  const me = JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) });
  const temp = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(temp, me);
  } catch (error) {
    return failWith({ reason: 'lock-error', message: `cannot create lock ${path}: ${errorMessage(error)}` });
  }
  try {
    for (;;) {
      try {
        await link(temp, path);
        return ok({ held: heldLock(path) });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          return failWith({
            reason: 'lock-error',
            message: `cannot create lock ${path}: ${errorMessage(error)}`,
          });
        }
      }
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // Released between link and read.
      const owner = parseOwner(text);
      if (owner && alive(owner)) return ok({ owner: owner.pid });
      // Gone, reused, or not ours to read (locks are linked whole, so never half-written): stale.
      await breakStale(path, text);
    }
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Waits until the lock is ours. Fails only when aborted or on I/O errors. */
export async function acquireLock(path: string, options: LockOptions = {}): Promise<Result<Lock>> {
  let waited = false;
  for (;;) {
    if (options.signal?.aborted)
      return failWith({ reason: 'cancelled', message: `gave up waiting for lock ${path}` });
    const attempt = await tryLock(path);
    if (!attempt.ok) return attempt;
    if ('held' in attempt.value) return ok(attempt.value.held);
    if (!waited) options.onWait?.(attempt.value.owner);
    waited = true;
    await sleep(options.pollMs ?? 200, options.signal);
  }
}
