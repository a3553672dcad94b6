import { mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/fs.js';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';
import { acquireLock, type Lock, type LockOptions } from '../state/lock-file.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The store root for this environment. */
export function boxStoreDir(env: Env = process.env): string {
  if (env.KIWIBOX_BOX_STORE) return env.KIWIBOX_BOX_STORE;
  const cache = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(cache, 'kiwibox', 'boxes');
}

/** Names are used as path components: keep them plain. */
export function safeName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) && name !== 'digests' && name !== 'host';
}

export function boxDir(store: string, name: string, arch: string): string {
  return join(store, name, arch);
}

export function digestDir(store: string): string {
  return join(store, 'digests');
}

/** What a committed official box looks like on disk. */
export interface BoxState {
  /** Download directory URL the files came from. */
  readonly source: string;
  /** sha256 of the packages file at the last update check that downloaded (upstream's update signal). */
  readonly packagesSha256?: string;
  /** Published (and verified) sha256 of each box file, by file name. */
  readonly files: Readonly<Record<string, string>>;
  /** Digest of the kernel tarball the extracted `kernel`/`initrd` came from. */
  readonly extractedFrom?: string;
  /** ISO time of the last completed download. */
  readonly updated?: string;
}

export async function readState(dir: string): Promise<BoxState | undefined> {
  try {
    const raw = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as BoxState;
    return typeof raw.files === 'object' && raw.files !== null ? raw : undefined;
  } catch {
    return undefined;
  }
}

export async function writeState(dir: string, state: BoxState): Promise<void> {
  await writeFileAtomic(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
}

/** Holds `<store>/<name>/<arch>.lock` (creating `<store>/<name>`) until released. */
export async function lockBox(
  store: string,
  name: string,
  arch: string,
  options: LockOptions = {},
): Promise<Result<Lock>> {
  try {
    await mkdir(join(store, name), { recursive: true });
  } catch (error) {
    return failWith({
      reason: 'box-store-error',
      message: `cannot create ${join(store, name)}: ${errorMessage(error)}`,
    });
  }
  return acquireLock(`${boxDir(store, name, arch)}.lock`, options);
}

/** One stored box variant, for `kiwibox box list`. */
export interface StoredBox {
  readonly name: string;
  readonly arch: string;
  readonly bytes: number;
  readonly state?: BoxState;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await dirBytes(path);
    else if (entry.isFile()) total += (await stat(path).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

/** Official boxes present in the store (any state, complete or not). */
export async function listStored(store: string): Promise<StoredBox[]> {
  const boxes: StoredBox[] = [];
  const names = await readdir(store, { withFileTypes: true }).catch(() => []);
  for (const name of names
    .filter((n) => n.isDirectory() && safeName(n.name))
    .map((n) => n.name)
    .sort()) {
    const arches = await readdir(join(store, name), { withFileTypes: true }).catch(() => []);
    for (const arch of arches
      .filter((a) => a.isDirectory())
      .map((a) => a.name)
      .sort()) {
      const dir = boxDir(store, name, arch);
      const state = await readState(dir);
      boxes.push({ name, arch, bytes: await dirBytes(dir), ...(state ? { state } : {}) });
    }
  }
  return boxes;
}

/** Removes a stored box (every arch, or one), under each variant's lock. Returns the variants removed. */
export async function removeStored(options: {
  readonly store: string;
  readonly name: string;
  readonly arch?: string;
  readonly signal?: AbortSignal;
}): Promise<Result<string[]>> {
  const { store, name } = options;
  const arches = options.arch
    ? [options.arch]
    : (await readdir(join(store, name), { withFileTypes: true }).catch(() => []))
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
  const removed: string[] = [];
  for (const arch of arches) {
    const lock = await lockBox(store, name, arch, options.signal ? { signal: options.signal } : {});
    if (!lock.ok) return lock;
    try {
      const dir = boxDir(store, name, arch);
      if (await stat(dir).catch(() => undefined)) {
        // Rename first: a reader never sees a half-deleted box under the real name.
        const doomed = `${dir}.rm-${process.pid}`;
        await rename(dir, doomed);
        await rm(doomed, { recursive: true, force: true });
        removed.push(arch);
      }
    } catch (error) {
      return failWith({
        reason: 'box-store-error',
        message: `cannot remove ${name}/${arch}: ${errorMessage(error)}`,
      });
    } finally {
      await lock.value.release();
    }
  }
  await rmdir(join(store, name)).catch(() => undefined); // Only if now empty.
  return ok(removed);
}

/** Host box caches (`<store>/host/<arch>/`: kernel packages, kernels, initramfs), by arch. */
export async function listHostStored(store: string): Promise<{ arch: string; bytes: number }[]> {
  const arches = await readdir(join(store, 'host'), { withFileTypes: true }).catch(() => []);
  const out: { arch: string; bytes: number }[] = [];
  for (const a of arches
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()) {
    out.push({ arch: a, bytes: await dirBytes(join(store, 'host', a)) });
  }
  return out;
}

/** Removes host box caches (one arch or all) under their locks; returns the arches removed. */
export async function removeHostStored(options: {
  readonly store: string;
  readonly arch?: string;
  readonly signal?: AbortSignal;
}): Promise<Result<string[]>> {
  const present = (await listHostStored(options.store)).map((h) => h.arch);
  const removed: string[] = [];
  for (const arch of present.filter((a) => options.arch === undefined || a === options.arch)) {
    const dir = join(options.store, 'host', arch);
    const lock = await acquireLock(`${dir}.lock`, options.signal ? { signal: options.signal } : {});
    if (!lock.ok) return lock;
    try {
      const doomed = `${dir}.rm-${process.pid}`;
      await rename(dir, doomed);
      await rm(doomed, { recursive: true, force: true });
      removed.push(arch);
    } catch (error) {
      return failWith({
        reason: 'box-store-error',
        message: `cannot remove host box ${arch}: ${errorMessage(error)}`,
      });
    } finally {
      await lock.value.release();
    }
  }
  return ok(removed);
}
