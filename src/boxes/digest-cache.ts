/**
 * sha256 of files, remembered with their stat (dev, ino, size, mtime, ctime) so that a multi-GB box
 * disk is hashed once, not on every run (upstream re-hashes the whole qcow2 each time). One small
 * JSON file per path under the cache dir, written atomically: parallel runs never see half an entry.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../core/fs.js';
import { errorMessage, failWith, ok, type Result } from '../core/result.js';

interface Entry {
  readonly path: string;
  readonly key: string;
  readonly sha256: string;
}

export interface DigestOptions {
  /** Where entries live (the box store's `digests/`). */
  readonly cacheDir: string;
  /** Called whenever a file is actually read and hashed (tests count re-hashes with it). */
  readonly onHash?: (path: string) => void;
  readonly signal?: AbortSignal;
}

/** The stat fields that must stay the same for a remembered digest to hold. */
async function statKey(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  if (!s.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'ENOTFILE' });
  return [s.dev, s.ino, s.size, s.mtimeNs, s.ctimeNs].join(':');
}

function entryFile(cacheDir: string, path: string): string {
  return join(cacheDir, `${createHash('sha256').update(path).digest('hex').slice(0, 32)}.json`);
}

/** Streams a file through sha256. */
export async function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writeEntry(cacheDir: string, entry: Entry): Promise<void> {
  await writeFileAtomic(entryFile(cacheDir, entry.path), JSON.stringify(entry));
}

/** Remembers a digest computed elsewhere (while downloading) for the file as it is now. */
export async function rememberDigest(path: string, sha256: string, cacheDir: string): Promise<void> {
  const abs = resolve(path);
  await writeEntry(cacheDir, { path: abs, key: await statKey(abs), sha256 });
}

/** sha256 of `path`: from the cache when its stat is unchanged, else hashed and remembered. */
export async function cachedDigest(path: string, options: DigestOptions): Promise<Result<string>> {
  const abs = resolve(path);
  try {
    const key = await statKey(abs);
    const file = entryFile(options.cacheDir, abs);
    const cached = await readFile(file, 'utf8').then(
      (text) => JSON.parse(text) as Entry,
      () => undefined,
    );
    if (cached?.path === abs && cached.key === key && /^[0-9a-f]{64}$/.test(cached.sha256))
      return ok(cached.sha256);
    options.onHash?.(abs);
    const sha256 = await hashFile(abs, options.signal);
    // Written while we read it: the digest may be of neither version, so do not remember it.
    if ((await statKey(abs)) === key) await writeEntry(options.cacheDir, { path: abs, key, sha256 });
    return ok(sha256);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'missing-file' : code === 'ABORT_ERR' ? 'cancelled' : 'digest-error';
    return failWith({ reason, message: `cannot hash ${abs}: ${errorMessage(error)}` });
  }
}
