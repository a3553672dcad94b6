/**
 * The team cache on a Bazel-style HTTP cache (bazel-remote, nginx WebDAV; docs/cache-http.md):
 * `PUT/GET/HEAD <base>/cas/<sha256 hex>` for blobs and `<base>[/<namespace>]/ac/<key>` for entries,
 * each entry the CacheEntry as canonical JSON. Servers like nginx store any body under any name, so
 * every blob is verified here while it streams to disk, and nothing unverified is left behind.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { errorMessage, type Failure, failWith, ok, type Result } from '../core/result.js';
import type { HttpCredentials } from './http-auth.js';
import { HttpClient } from './http-client.js';
import { canonicalJson, isDigest, isKey, parseEntry } from './http-entry.js';
import { receiveToFile } from './http-receive.js';
import type { BlobRef, CacheEntry, CacheStore, Digest, StoreCallOptions } from './store.js';

export interface HttpStoreOptions {
  /** `http(s)://host[:port][/prefix]`; no credentials in it. */
  readonly url: string;
  /** Basic auth for every request (see httpCredentialsFromEnv); none: anonymous. */
  readonly credentials?: HttpCredentials;
  /** A PEM file of CAs to trust besides Node's bundled ones (a team CA, a self-signed server). */
  readonly caFile?: string;
  /** Connecting (TCP and TLS) may take this long; default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Longest silence while waiting for headers or the next body chunk; default 30 s. */
  readonly idleTimeoutMs?: number;
}

/** AC values are small; anything bigger is not an entry (and not read into memory). */
const MAX_ENTRY_BYTES = 4 * 1024 * 1024;
/** A namespace is one or more path segments of these characters (`pr-12`, `team/ci`). */
const NAMESPACE = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

const failure = (reason: Failure['reason'], message: string) => failWith({ reason, message });

/** `http(s)://host:port[/prefix]` without a trailing slash. */
function parseBase(url: string): Result<string> {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    return failure('http-cache-url', `'${url}' is not a URL (expected http(s)://host[:port][/prefix])`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    return failure('http-cache-url', `'${url}': only http:// and https:// are supported`);
  if (base.username || base.password)
    return failure(
      'http-cache-url',
      `'${base.host}${base.pathname}': credentials do not belong in the URL; set KIWIBOX_CACHE_HTTP_USER and KIWIBOX_CACHE_HTTP_PASSWORD or use a netrc entry`,
    );
  if (base.search || base.hash)
    return failure('http-cache-url', `'${url}': a query or fragment has no meaning for the cache`);
  return ok(`${base.origin}${base.pathname.replace(/\/+$/, '')}`);
}

/** Creates the store; checks the URL and reads the CA file now, so bad settings show up before a run. */
export function createHttpStore(options: HttpStoreOptions): Result<CacheStore> {
  const base = parseBase(options.url);
  if (!base.ok) return base;
  let ca: string | undefined;
  if (options.caFile !== undefined) {
    try {
      ca = readFileSync(options.caFile, 'utf8');
    } catch (error) {
      return failure('http-cache-ca', `cannot read the CA file ${options.caFile}: ${errorMessage(error)}`);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----'))
      return failure('http-cache-ca', `the CA file ${options.caFile} holds no PEM certificate`);
  }
  const client = new HttpClient({
    base: base.value,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(ca ? { ca } : {}),
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
  });
  return ok(new HttpStore({ name: base.value, client }));
}

function blobPath(digest: Digest): Result<string> {
  return isDigest(digest)
    ? ok(`cas/${digest.slice('sha256:'.length)}`)
    : failure('http-cache-bad-name', `'${digest}' is not a sha256:<64 hex> digest`);
}

function entryPath(namespace: string, key: string): Result<string> {
  if (namespace !== '' && !NAMESPACE.test(namespace))
    return failure(
      'http-cache-bad-name',
      `namespace '${namespace}' is not a path of letters, digits, '.', '_' and '-'`,
    );
  if (!isKey(key)) return failure('http-cache-bad-name', `entry key '${key}' is not 64 lowercase hex digits`);
  return ok(`${namespace ? `${namespace}/` : ''}ac/${key}`);
}

class HttpStore implements CacheStore {
  readonly name: string;
  readonly #client: HttpClient;

  constructor(options: { name: string; client: HttpClient }) {
    this.name = options.name;
    this.#client = options.client;
  }

  async readEntry(
    options: StoreCallOptions & { namespace: string; key: string },
  ): Promise<Result<CacheEntry | undefined>> {
    const path = entryPath(options.namespace, options.key);
    if (!path.ok) return path;
    const sent = await this.#client.send({ method: 'GET', path: path.value, signal: options.signal });
    if (!sent.ok) return sent;
    const response = sent.value;
    if (response.statusCode === 404) {
      await response.body.dump();
      return ok(undefined);
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      return failWith(
        this.#client.statusFailure({ method: 'GET', path: path.value, status: response.statusCode }),
      );
    }
    const url = this.#client.url(path.value);
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_ENTRY_BYTES) {
          response.body.destroy();
          return failure(
            'http-cache-bad-entry',
            `GET ${url}: larger than ${MAX_ENTRY_BYTES} bytes, not an entry`,
          );
        }
        chunks.push(chunk as Buffer);
      }
    } catch (error) {
      return failWith(this.#client.networkFailure({ method: 'GET', url, error, signal: options.signal }));
    }
    const parsed = parseEntry(Buffer.concat(chunks).toString('utf8'));
    if (!parsed.ok)
      return failure('http-cache-bad-entry', `GET ${url}: not a cache entry: ${parsed.problem}`);
    // nginx stores a body under any name: an entry copied from another key is not this key's entry.
    if (parsed.value.key !== options.key)
      return failure('http-cache-bad-entry', `GET ${url}: the entry is for key ${parsed.value.key}`);
    return ok(parsed.value);
  }

  async hasBlob(options: StoreCallOptions & { digest: Digest }): Promise<Result<boolean>> {
    const path = blobPath(options.digest);
    if (!path.ok) return path;
    const sent = await this.#client.send({ method: 'HEAD', path: path.value, signal: options.signal });
    if (!sent.ok) return sent;
    await sent.value.body.dump();
    const status = sent.value.statusCode;
    if (status === 200) return ok(true);
    if (status === 404) return ok(false);
    return failWith(this.#client.statusFailure({ method: 'HEAD', path: path.value, status }));
  }

  async fetchBlob(options: StoreCallOptions & { blob: BlobRef; file: string }): Promise<Result<void>> {
    const { blob, file, signal } = options;
    const path = blobPath(blob.digest);
    if (!path.ok) return path;
    const url = this.#client.url(path.value);
    const sent = await this.#client.send({ method: 'GET', path: path.value, signal });
    if (!sent.ok) return sent;
    const response = sent.value;
    if (response.statusCode !== 200) {
      await response.body.dump();
      return response.statusCode === 404
        ? failure('http-cache-blob-missing', `GET ${url}: HTTP 404: the cache does not hold ${blob.digest}`)
        : failWith(
            this.#client.statusFailure({ method: 'GET', path: path.value, status: response.statusCode }),
          );
    }
    const mismatch = (found: string) =>
      failure(
        'http-cache-digest-mismatch',
        `GET ${url}: expected ${blob.digest} (${blob.size} bytes), got ${found}; nothing written`,
      );
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
    let written = false;
    try {
      await mkdir(dirname(file), { recursive: true });
      const received = await receiveToFile({ body: response.body, file: tmp, limit: blob.size });
      if (received.kind === 'too-big') return mismatch(`more than ${blob.size} bytes`);
      if (received.kind === 'write-error')
        return failure('http-cache-file-error', `writing ${tmp}: ${errorMessage(received.error)}`);
      if (received.kind === 'read-error')
        return failWith(this.#client.networkFailure({ method: 'GET', url, error: received.error, signal }));
      const { size, digest } = received;
      if (size !== blob.size || digest !== blob.digest) return mismatch(`${digest} (${size} bytes)`);
      await rename(tmp, file);
      written = true;
      return ok(undefined);
    } catch (error) {
      return failure('http-cache-file-error', `storing ${blob.digest} as ${file}: ${errorMessage(error)}`);
    } finally {
      if (!written) await unlink(tmp).catch(() => undefined);
    }
  }

  async pushBlob(options: StoreCallOptions & { blob: BlobRef; file: string }): Promise<Result<void>> {
    const { blob, file, signal } = options;
    const path = blobPath(blob.digest);
    if (!path.ok) return path;
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (error) {
      return failure('http-cache-file-error', `cannot read ${file}: ${errorMessage(error)}`);
    }
    if (size !== blob.size)
      return failure(
        'http-cache-file-error',
        `${file} has ${size} bytes, not the ${blob.size} of ${blob.digest} (changed since it was hashed?)`,
      );
    // Streamed from disk: outputs can be disks of many GB.
    const body = createReadStream(file, { highWaterMark: 1 << 20 });
    try {
      return await this.#put({
        path: path.value,
        body,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        signal,
      });
    } finally {
      body.destroy();
    }
  }

  async writeEntry(
    options: StoreCallOptions & { namespace: string; entry: CacheEntry },
  ): Promise<Result<void>> {
    const path = entryPath(options.namespace, options.entry.key);
    if (!path.ok) return path;
    const body = Buffer.from(canonicalJson(options.entry));
    return this.#put({
      path: path.value,
      body,
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      signal: options.signal,
    });
  }

  async deleteEntry(options: StoreCallOptions & { namespace: string; key: string }): Promise<Result<void>> {
    const path = entryPath(options.namespace, options.key);
    if (!path.ok) return path;
    const sent = await this.#client.send({ method: 'DELETE', path: path.value, signal: options.signal });
    if (!sent.ok) return sent;
    await sent.value.body.dump();
    const status = sent.value.statusCode;
    // Already gone is what the caller wanted.
    if (status === 200 || status === 202 || status === 204 || status === 404) return ok(undefined);
    return failWith(
      this.#client.statusFailure({
        method: 'DELETE',
        path: path.value,
        status,
        ...(status === 405
          ? { hint: 'the server does not allow deletes (nginx: dav_methods PUT DELETE)' }
          : {}),
      }),
    );
  }

  /** Releases the connections (the contract's optional close, called at the end of a run). */
  close(): Promise<void> {
    return this.#client.close();
  }

  async #put(options: {
    path: string;
    body: Buffer | Readable;
    headers: Record<string, string>;
    signal: AbortSignal;
  }): Promise<Result<void>> {
    const sent = await this.#client.send({
      method: 'PUT',
      path: options.path,
      body: options.body,
      headers: options.headers,
      signal: options.signal,
    });
    if (!sent.ok) return sent;
    await sent.value.body.dump();
    const status = sent.value.statusCode;
    if (status === 200 || status === 201 || status === 204) return ok(undefined);
    return failWith(
      this.#client.statusFailure({
        method: 'PUT',
        path: options.path,
        status,
        ...(status === 413 ? { hint: 'too large for the server (nginx: client_max_body_size 0)' } : {}),
      }),
    );
  }
}
