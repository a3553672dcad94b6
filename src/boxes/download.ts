/**
 * Box downloads with undici: resumable across runs (`<dest>.part` plus Range/If-Range, a 200 reply
 * restarts from zero), retried in-process when the connection drops, verified against the published
 * sha256 and committed by rename, so `<dest>` is either absent or complete and verified.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open, readFile, rename, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { Agent, type Dispatcher, interceptors, request } from 'undici';
import type { FailureReason } from '../core/reasons.js';
import { errorMessage, type Failure, failWith, ok, type Result } from '../core/result.js';

/** Progress of one file; `total` is unknown when the server sends no length. */
export interface DownloadProgress {
  readonly url: string;
  readonly received: number;
  readonly total?: number;
  /** Bytes taken from an earlier, interrupted attempt. */
  readonly resumedFrom: number;
}

export interface DownloadOptions {
  readonly url: string;
  /** Final path; written only once the content matched `sha256`. */
  readonly dest: string;
  /** Expected sha256 (hex), e.g. from the published `.sha256`. */
  readonly sha256: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DownloadProgress) => void;
  /** Called before a retry after a dropped connection or a server error. */
  readonly onRetry?: (attempt: number, why: string) => void;
  /** In-process attempts after the first (default 5). */
  readonly retries?: number;
  readonly dispatcher?: Dispatcher;
}

let defaultDispatcher: Dispatcher | undefined;
/** A shared agent that follows redirects (OBS's download server redirects to a mirror). */
export function boxDispatcher(): Dispatcher {
  defaultDispatcher ??= new Agent({ connect: { timeout: 30_000 }, bodyTimeout: 120_000 }).compose(
    interceptors.redirect({ maxRedirections: 5 }),
  );
  return defaultDispatcher;
}

const failure = (reason: FailureReason, message: string): Failure => ({ reason, message });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET a small text resource (a `.sha256`, a packages file). */
export async function fetchText(
  url: string,
  options: { signal?: AbortSignal; dispatcher?: Dispatcher; maxBytes?: number } = {},
): Promise<Result<string>> {
  const limit = options.maxBytes ?? 64 * 1024 * 1024;
  try {
    const res = await request(url, {
      signal: options.signal,
      dispatcher: options.dispatcher ?? boxDispatcher(),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return failWith(failure('download-failed', `GET ${url}: HTTP ${res.statusCode}`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > limit) return failWith(failure('download-failed', `GET ${url}: larger than ${limit} bytes`));
      chunks.push(chunk as Buffer);
    }
    return ok(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    const reason = options.signal?.aborted ? 'cancelled' : 'download-failed';
    return failWith(failure(reason, `GET ${url}: ${errorMessage(error)}`));
  }
}

/** The published digest: first token of `<url>.sha256` (as kiwi's Checksum reads it). */
export async function fetchPublishedSha256(
  url: string,
  options: { signal?: AbortSignal; dispatcher?: Dispatcher } = {},
): Promise<Result<string>> {
  const text = await fetchText(`${url}.sha256`, { ...options, maxBytes: 64 * 1024 });
  if (!text.ok) return text;
  const token = text.value.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return /^[0-9a-f]{64}$/.test(token)
    ? ok(token)
    : failWith(failure('bad-checksum-file', `${url}.sha256 holds no sha256 digest`));
}

/** What the `.part` file is a prefix of; a different url/digest means the part is useless. */
interface PartMeta {
  readonly url: string;
  readonly sha256: string;
  /** ETag or Last-Modified of the response the part came from (for If-Range). */
  readonly validator?: string;
}

async function hashPrefix(path: string, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (length > 0) for await (const c of createReadStream(path, { end: length - 1 })) hash.update(c as Buffer);
  return hash;
}

async function partState(part: string, meta: PartMeta): Promise<{ offset: number; validator?: string }> {
  const saved = await readFile(`${part}.json`, 'utf8').then(
    (t) => JSON.parse(t) as PartMeta,
    () => undefined,
  );
  const size = await stat(part).then(
    (s) => s.size,
    () => 0,
  );
  if (!saved || saved.url !== meta.url || saved.sha256 !== meta.sha256 || size === 0) return { offset: 0 };
  return { offset: size, ...(saved.validator ? { validator: saved.validator } : {}) };
}

const header = (h: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

type Attempt = { done: true } | { done: false; retry: boolean; why: string };

/** Downloads `url` to `dest`, resuming `<dest>.part` if it belongs to the same url and digest. */
export async function downloadFile(
  options: DownloadOptions,
): Promise<Result<{ sha256: string; size: number }>> {
  const { url, dest, signal } = options;
  const expected = options.sha256.toLowerCase();
  const part = `${dest}.part`;
  const dispatcher = options.dispatcher ?? boxDispatcher();
  const initial = await partState(part, { url, sha256: expected });
  let offset = initial.offset;
  let validator = initial.validator;
  let hash = await hashPrefix(part, offset);
  const resumedFrom = offset;
  const retries = options.retries ?? 5;

  const attempt = async (): Promise<Attempt> => {
    const headers: Record<string, string> = {};
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      if (validator) headers['if-range'] = validator;
    }
    let handle: FileHandle | undefined;
    try {
      const res = await request(url, { headers, signal, dispatcher });
      const range = header(res.headers, 'content-range');
      if (res.statusCode === 416 && offset > 0) {
        await res.body.dump();
        const total = Number(/\/(\d+)$/.exec(range ?? '')?.[1]);
        if (total === offset) return { done: true };
        offset = 0;
        return { done: false, retry: true, why: 'range not satisfiable, restarting' };
      }
      if (res.statusCode === 206 && !range?.startsWith(`bytes ${offset}-`)) {
        await res.body.dump();
        offset = 0;
        return { done: false, retry: true, why: `unexpected Content-Range '${range}', restarting` };
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        await res.body.dump();
        return { done: false, retry: res.statusCode >= 500, why: `HTTP ${res.statusCode}` };
      }
      if (res.statusCode === 200 && offset > 0) {
        offset = 0; // The file changed (If-Range) or the server ignores ranges: start over.
        hash = createHash('sha256');
      }
      validator = header(res.headers, 'etag') ?? header(res.headers, 'last-modified');
      await writeFile(
        `${part}.json`,
        JSON.stringify({ url, sha256: expected, validator } satisfies PartMeta),
      );
      const length = Number(header(res.headers, 'content-length'));
      const total = Number.isFinite(length) ? offset + length : undefined;
      handle = await open(part, offset === 0 ? 'w' : 'a');
      let lastReport = 0;
      for await (const chunk of res.body) {
        await handle.write(chunk as Buffer);
        hash.update(chunk as Buffer);
        offset += (chunk as Buffer).length;
        const now = Date.now();
        if (now - lastReport >= 100) {
          lastReport = now;
          options.onProgress?.({ url, received: offset, resumedFrom, ...(total ? { total } : {}) });
        }
      }
      options.onProgress?.({ url, received: offset, resumedFrom, ...(total ? { total } : {}) });
      if (total !== undefined && offset !== total) {
        return { done: false, retry: true, why: `connection closed at ${offset} of ${total} bytes` };
      }
      return { done: true };
    } catch (error) {
      if (signal?.aborted) return { done: false, retry: false, why: 'cancelled' };
      return { done: false, retry: true, why: errorMessage(error) };
    } finally {
      await handle?.close();
    }
  };

  for (let n = 0; ; n++) {
    const before = offset;
    const outcome = await attempt();
    if (outcome.done) break;
    if (outcome.why === 'cancelled')
      return failWith(failure('cancelled', `download of ${url} was cancelled`));
    if (!outcome.retry || n >= retries) {
      return failWith(failure('download-failed', `GET ${url}: ${outcome.why}`));
    }
    // Keep the part and the hash in step: cut bytes the hash has not seen (a failed write), and
    // rehash when the part is shorter than counted or the attempt asked for a restart.
    const size = await stat(part).then(
      (s) => s.size,
      () => 0,
    );
    if (size > offset) await truncate(part, offset);
    if (offset === 0 || size < offset) {
      offset = Math.min(offset, size);
      hash = await hashPrefix(part, offset);
    }
    options.onRetry?.(n + 1, outcome.why);
    // Back off only when no progress was made (a server that keeps failing at once).
    if (offset <= before) await sleep(Math.min(500 * (n + 1), 5000));
  }

  const actual = hash.digest('hex');
  if (actual !== expected) {
    await unlink(part).catch(() => undefined);
    await unlink(`${part}.json`).catch(() => undefined);
    return failWith(failure('checksum-mismatch', `${url}: sha256 is ${actual}, published ${expected}`));
  }
  await rename(part, dest);
  await unlink(`${part}.json`).catch(() => undefined);
  return ok({ sha256: actual, size: offset });
}
