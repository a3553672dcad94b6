/**
 * The HTTP cache store against a real nginx WebDAV server on 127.0.0.1 (test/support/nginx-dav.ts):
 * blobs and entries round-trip, the client verifies what nginx does not, auth, namespaces, TLS, and
 * a dead or silent server fails fast.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCredentialsFromEnv, netrcEntry } from '../../src/cache/http-auth.js';
import { canonicalJson } from '../../src/cache/http-entry.js';
import { openHttpStore } from '../../src/cache/http-open.js';
import { createHttpStore, type HttpStoreOptions } from '../../src/cache/http-store.js';
import type { BlobRef, CacheEntry, CacheStore, Digest } from '../../src/cache/store.js';
import { freeLocalPort } from '../../src/core/net.js';
import { expectFailed, expectOk } from '../support/expect-ok.js';
import { type NginxDav, startNginxDav } from '../support/nginx-dav.js';
import { missingRealTools } from '../support/real-tools.js';

const skip = missingRealTools({ tools: ['nginx', 'openssl'] });
const signal = new AbortController().signal;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const key = (seed: string) => sha256(Buffer.from(seed));

describe.skipIf(skip)('HTTP cache store on nginx WebDAV', () => {
  let server: NginxDav;
  let work: string;
  let counter = 0;
  const fresh = () => join(work, `f${counter++}`);

  /** A random blob of `size` bytes on disk and its ref. */
  function blobFile(size: number): { file: string; blob: BlobRef; data: Buffer } {
    const data = randomBytes(size);
    const file = fresh();
    writeFileSync(file, data);
    const blob = { digest: `sha256:${sha256(data)}` as Digest, size, mediaType: 'application/octet-stream' };
    return { file, blob, data };
  }

  const store = (options: Partial<HttpStoreOptions> = {}): CacheStore =>
    expectOk(
      createHttpStore({
        url: `${server.url}/kiwibox`,
        credentials: { user: server.user, password: server.password },
        ...options,
      }),
    );

  const entryFor = (k: string, config: BlobRef, layers: BlobRef[] = []): CacheEntry => ({
    key: k,
    config,
    layers,
    signatures: { 'ci-1': 'c2lnbmF0dXJl' },
    annotations: { 'dev.kiwibox.step': 'image' },
  });

  beforeAll(async () => {
    server = await startNginxDav();
    work = mkdtempSync(join(tmpdir(), 'kiwibox-http-store-'));
  });
  afterAll(async () => {
    await server?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('round-trips a blob of several MB, streamed to the server and back, and knows what it holds', async () => {
    const cache = store();
    const { file, blob, data } = blobFile(12 * 1024 * 1024 + 7);
    expect(expectOk(await cache.hasBlob({ digest: blob.digest, signal }))).toBe(false);
    expectOk(await cache.pushBlob({ blob, file, signal }), 'push');
    // Where the Bazel layout puts it: <prefix>/cas/<hex>.
    const onServer = join(server.root, 'kiwibox', 'cas', blob.digest.slice(7));
    expect(sha256(readFileSync(onServer))).toBe(blob.digest.slice(7));
    expect(expectOk(await cache.hasBlob({ digest: blob.digest, signal }))).toBe(true);
    const target = join(fresh(), 'deep', 'out.raw');
    expectOk(await cache.fetchBlob({ blob, file: target, signal }), 'fetch');
    expect(readFileSync(target).equals(data)).toBe(true);
    // Replacing an existing file works too, and leaves only the target in its directory.
    writeFileSync(target, 'old');
    expectOk(await cache.fetchBlob({ blob, file: target, signal }), 'fetch again');
    expect(readFileSync(target).equals(data)).toBe(true);
    expect(readdirSync(join(target, '..'))).toEqual(['out.raw']);
  });

  it('writes entries as canonical JSON under ac/<key> and reads them back; a missing entry is undefined', async () => {
    const cache = store();
    const { blob } = blobFile(10);
    const k = key('entry');
    const entry = entryFor(k, blob, [
      { ...blob, annotations: { 'org.opencontainers.image.title': 'a.raw' } },
    ]);
    expectOk(await cache.writeEntry({ namespace: '', entry, signal }));
    const stored = readFileSync(join(server.root, 'kiwibox', 'ac', k), 'utf8');
    expect(stored).toBe(canonicalJson(entry));
    expect(stored.startsWith('{"annotations":{"dev.kiwibox.step":"image"},"config":{"digest":')).toBe(true);
    expect(expectOk(await cache.readEntry({ namespace: '', key: k, signal }))).toEqual(entry);
    expect(
      expectOk(await cache.readEntry({ namespace: '', key: key('never written'), signal })),
    ).toBeUndefined();
  });

  it('refuses a blob tampered with on the server and leaves no file behind', async () => {
    const cache = store();
    const { file, blob, data } = blobFile(256 * 1024);
    expectOk(await cache.pushBlob({ blob, file, signal }));
    const onServer = join(server.root, 'kiwibox', 'cas', blob.digest.slice(7));
    const dir = fresh();
    for (const [what, body] of [
      [
        'one byte flipped',
        Buffer.concat([data.subarray(0, 1000), Buffer.from([(data[1000] ?? 0) ^ 1]), data.subarray(1001)]),
      ],
      ['truncated', data.subarray(0, data.length - 1)],
      ['longer', Buffer.concat([data, Buffer.from('x')])],
    ] as const) {
      writeFileSync(onServer, body);
      const failures = expectFailed(await cache.fetchBlob({ blob, file: join(dir, 'out'), signal }), what);
      expect(failures[0]?.reason, what).toBe('http-cache-digest-mismatch');
      expect(failures[0]?.message, what).toContain(blob.digest);
      expect(existsSync(join(dir, 'out')), what).toBe(false);
      expect(readdirSync(dir), what).toEqual([]);
    }
  });

  it('fails naming the blob when the server lacks it, and refuses an entry stored under another key', async () => {
    const cache = store();
    const { blob } = blobFile(100);
    const failures = expectFailed(await cache.fetchBlob({ blob, file: fresh(), signal }));
    expect(failures[0]?.reason).toBe('http-cache-blob-missing');
    const a = key('a');
    const b = key('b');
    expectOk(await cache.writeEntry({ namespace: '', entry: entryFor(a, blob), signal }));
    copyFileSync(join(server.root, 'kiwibox', 'ac', a), join(server.root, 'kiwibox', 'ac', b));
    const moved = expectFailed(await cache.readEntry({ namespace: '', key: b, signal }));
    expect(moved[0]?.reason).toBe('http-cache-bad-entry');
    expect(moved[0]?.message).toContain(`the entry is for key ${a}`);
    writeFileSync(join(server.root, 'kiwibox', 'ac', b), '{"key":"nope"}');
    expect(expectFailed(await cache.readEntry({ namespace: '', key: b, signal }))[0]?.reason).toBe(
      'http-cache-bad-entry',
    );
  });

  it('a write without credentials fails naming the URL and 401; wrong ones are rejected too', async () => {
    const { file, blob } = blobFile(100);
    const anonymous = expectOk(createHttpStore({ url: `${server.url}/kiwibox` }));
    // Reads are open to everyone on this server.
    expect(expectOk(await anonymous.hasBlob({ digest: blob.digest, signal }))).toBe(false);
    const failures = expectFailed(await anonymous.pushBlob({ blob, file, signal }));
    expect(failures[0]?.reason).toBe('http-cache-denied');
    expect(failures[0]?.message).toContain(`PUT ${server.url}/kiwibox/cas/${blob.digest.slice(7)}: HTTP 401`);
    expect(failures[0]?.message).toContain('KIWIBOX_CACHE_HTTP_USER');
    const wrong = store({ credentials: { user: server.user, password: 'wrong' } });
    const rejected = expectFailed(
      await wrong.writeEntry({ namespace: '', entry: entryFor(key('w'), blob), signal }),
    );
    expect(rejected[0]?.reason).toBe('http-cache-denied');
    expect(rejected[0]?.message).toContain('HTTP 401: the server rejected the credentials');
    expect(expectOk(await anonymous.hasBlob({ digest: blob.digest, signal }))).toBe(false);
  });

  it('keeps namespaces apart and deletes entries', async () => {
    const cache = store();
    const { blob } = blobFile(10);
    const k = key('namespaced');
    expectOk(await cache.writeEntry({ namespace: 'pr-12', entry: entryFor(k, blob), signal }));
    expect(existsSync(join(server.root, 'kiwibox', 'pr-12', 'ac', k))).toBe(true);
    expect(expectOk(await cache.readEntry({ namespace: '', key: k, signal }))).toBeUndefined();
    expect(expectOk(await cache.readEntry({ namespace: 'pr-13', key: k, signal }))).toBeUndefined();
    expect(expectOk(await cache.readEntry({ namespace: 'pr-12', key: k, signal }))?.key).toBe(k);
    expectOk((await cache.deleteEntry?.({ namespace: 'pr-12', key: k, signal })) ?? { ok: false, error: [] });
    expect(expectOk(await cache.readEntry({ namespace: 'pr-12', key: k, signal }))).toBeUndefined();
    for (const namespace of ['../x', 'a//b', '/abs', 'a b']) {
      const failures = expectFailed(await cache.readEntry({ namespace, key: k, signal }), namespace);
      expect(failures[0]?.reason).toBe('http-cache-bad-name');
    }
    expect(expectFailed(await cache.readEntry({ namespace: '', key: 'ABC', signal }))[0]?.reason).toBe(
      'http-cache-bad-name',
    );
  });

  it('fails fast when the server is down, and after the idle timeout when it does not answer', async () => {
    const gone = await startNginxDav();
    const url = gone.url;
    await gone.remove();
    const down = expectOk(createHttpStore({ url }));
    const started = Date.now();
    const failures = expectFailed(await down.hasBlob({ digest: `sha256:${key('x')}`, signal }));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failures[0]?.reason).toBe('http-cache-unreachable');
    expect(failures[0]?.message).toContain(`HEAD ${url}/cas/`);
    expect(failures[0]?.message).toContain('ECONNREFUSED');

    // A server that accepts the connection and then says nothing.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    const port = await freeLocalPort();
    await new Promise<void>((resolve) => silent.listen(port, '127.0.0.1', resolve));
    try {
      const hung = expectOk(createHttpStore({ url: `http://127.0.0.1:${port}`, idleTimeoutMs: 300 }));
      const t = Date.now();
      const timedOut = expectFailed(await hung.readEntry({ namespace: '', key: key('y'), signal }));
      expect(Date.now() - t).toBeLessThan(3000);
      expect(timedOut[0]?.reason).toBe('http-cache-unreachable');
      expect(timedOut[0]?.message).toMatch(/timeout/i);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('a cancelled fetch or push is a cancelled failure and leaves no file', async () => {
    const cache = store();
    const { file, blob } = blobFile(8 * 1024 * 1024);
    expectOk(await cache.pushBlob({ blob, file, signal }));
    const dir = fresh();
    mkdirSync(dir);
    let cancelled = 0;
    for (const delay of [0, 5, 20]) {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), delay);
      const result = await cache.fetchBlob({ blob, file: join(dir, 'out'), signal: controller.signal });
      if (result.ok) continue; // Done before the abort landed: nothing to check.
      cancelled++;
      expect(result.error[0]?.reason, `abort after ${delay} ms`).toBe('cancelled');
      expect(readdirSync(dir), `abort after ${delay} ms`).toEqual([]);
    }
    expect(cancelled).toBeGreaterThan(0);
    const aborted = AbortSignal.abort();
    const other = blobFile(1000);
    expect(expectFailed(await cache.pushBlob({ ...other, signal: aborted }))[0]?.reason).toBe('cancelled');
    expect(expectOk(await cache.hasBlob({ digest: other.blob.digest, signal }))).toBe(false);
  });

  it('rejects bad settings before any request', () => {
    const bad = (options: HttpStoreOptions) => expectFailed(createHttpStore(options))[0]?.reason;
    expect(bad({ url: 'ftp://127.0.0.1/x' })).toBe('http-cache-url');
    expect(bad({ url: 'not a url' })).toBe('http-cache-url');
    const withPassword = expectFailed(createHttpStore({ url: 'http://u:secret@127.0.0.1/x' }));
    expect(withPassword[0]?.reason).toBe('http-cache-url');
    expect(withPassword[0]?.message).not.toContain('secret');
    expect(bad({ url: 'http://127.0.0.1', caFile: join(work, 'missing.pem') })).toBe('http-cache-ca');
  });
});

describe.skipIf(skip)('HTTP cache store over TLS', () => {
  let server: NginxDav;
  let work: string;
  beforeAll(async () => {
    server = await startNginxDav({ tls: true });
    work = mkdtempSync(join(tmpdir(), 'kiwibox-http-tls-'));
  });
  afterAll(async () => {
    await server?.remove();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('works with the test CA as the CA file and fails clearly without it', async () => {
    expect(server.url.startsWith('https://127.0.0.1:')).toBe(true);
    const data = randomBytes(70_000);
    const file = join(work, 'blob');
    writeFileSync(file, data);
    const blob: BlobRef = { digest: `sha256:${sha256(data)}`, size: data.length, mediaType: 'x' };
    const credentials = { user: server.user, password: server.password };
    const trusted = expectOk(createHttpStore({ url: server.url, credentials, caFile: server.caFile }));
    expectOk(await trusted.pushBlob({ blob, file, signal }));
    expectOk(await trusted.fetchBlob({ blob, file: join(work, 'back'), signal }));
    expect(readFileSync(join(work, 'back')).equals(data)).toBe(true);

    // As a cache configuration opens it: credentials and the CA file from the environment.
    const fromEnv = expectOk(
      openHttpStore({
        url: server.url,
        env: {
          KIWIBOX_CACHE_HTTP_USER: server.user,
          KIWIBOX_CACHE_HTTP_PASSWORD: server.password,
          KIWIBOX_CACHE_HTTP_CA_FILE: server.caFile,
        },
      }),
    );
    const entry: CacheEntry = { key: key('tls'), config: blob, layers: [], signatures: {} };
    expectOk(await fromEnv.writeEntry({ namespace: '', entry, signal }));
    expect(expectOk(await fromEnv.readEntry({ namespace: '', key: entry.key, signal }))).toEqual(entry);

    const untrusted = expectOk(createHttpStore({ url: server.url, credentials }));
    const failures = expectFailed(await untrusted.hasBlob({ digest: blob.digest, signal }));
    expect(failures[0]?.reason).toBe('http-cache-tls');
    expect(failures[0]?.message).toContain(`HEAD ${server.url}/cas/`);
    expect(failures[0]?.message).toMatch(/certificate/i);
  });
});

describe('HTTP cache credentials', () => {
  const url = 'https://cache.example.test:8443/kiwibox';
  it('come from the two variables, set together', () => {
    const env = { KIWIBOX_CACHE_HTTP_USER: 'ci', KIWIBOX_CACHE_HTTP_PASSWORD: 'pw', NETRC: '/nonexistent' };
    expect(expectOk(httpCredentialsFromEnv({ url, env }))).toEqual({ user: 'ci', password: 'pw' });
    const half = expectFailed(httpCredentialsFromEnv({ url, env: { KIWIBOX_CACHE_HTTP_USER: 'ci' } }));
    expect(half[0]?.reason).toBe('http-cache-credentials');
  });

  it('else from netrc: the machine entry, else default; a named NETRC must exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiwibox-netrc-'));
    try {
      const netrc = join(dir, 'netrc');
      writeFileSync(
        netrc,
        '# team cache\nmachine other.test login o password p\nmachine cache.example.test\n  login dev\n  password s3cret\ndefault login anon password x\n',
      );
      expect(expectOk(httpCredentialsFromEnv({ url, env: { NETRC: netrc } }))).toEqual({
        user: 'dev',
        password: 's3cret',
      });
      expect(netrcEntry(readFileSync(netrc, 'utf8'), 'elsewhere.test')).toEqual({
        user: 'anon',
        password: 'x',
      });
      expect(expectOk(httpCredentialsFromEnv({ url, env: { HOME: dir } }))).toBeUndefined();
      const missing = expectFailed(httpCredentialsFromEnv({ url, env: { NETRC: join(dir, 'nope') } }));
      expect(missing[0]?.reason).toBe('http-cache-credentials');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
