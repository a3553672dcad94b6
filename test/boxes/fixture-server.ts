/**
 * A box download server on 127.0.0.1 for tests (node:http, free port): serves in-memory files with
 * ETag, Range and If-Range, counts requests, and can drop a connection mid-body or stall.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureServer {
  readonly url: string;
  /** Sets (or replaces) a file; its ETag changes with its content. */
  put(path: string, body: Buffer | string): void;
  remove(path: string): void;
  /** Requests per path (GETs of the body, including ranged ones). */
  readonly hits: Map<string, number>;
  /** Range headers received per path. */
  readonly ranges: Map<string, string[]>;
  /** The next GET of `path` sends only `bytes` body bytes, then destroys the socket. */
  dropOnce(path: string, bytes: number): void;
  /** GETs of `from` answer 302 to `to` (a mirror redirect). */
  redirect(from: string, to: string): void;
  /** Pause each GET of `path` for `ms` before answering (to make requests overlap). */
  delay(path: string, ms: number): void;
  close(): Promise<void>;
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export async function startFixtureServer(): Promise<FixtureServer> {
  const files = new Map<string, Buffer>();
  const hits = new Map<string, number>();
  const ranges = new Map<string, string[]>();
  const drops = new Map<string, number>();
  const delays = new Map<string, number>();
  const redirects = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const body = files.get(path);
    const target = redirects.get(path);
    if (target) {
      res.writeHead(302, { location: target }).end();
      return;
    }
    const answer = () => {
      if (!body) {
        res.writeHead(404).end('not found');
        return;
      }
      const etag = `"${sha256(body).slice(0, 16)}"`;
      const range = req.headers.range;
      if (range) ranges.set(path, [...(ranges.get(path) ?? []), range]);
      const ifRange = req.headers['if-range'];
      let start = 0;
      let status = 200;
      const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
      if (m && (ifRange === undefined || ifRange === etag)) {
        start = Number(m[1]);
        if (start >= body.length) {
          res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
          return;
        }
        status = 206;
      }
      const slice = body.subarray(start);
      const headers: Record<string, string> = { etag, 'content-length': String(slice.length) };
      if (status === 206) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
      res.writeHead(status, headers);
      const drop = drops.get(path);
      if (drop !== undefined) {
        drops.delete(path);
        res.write(slice.subarray(0, drop), () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      }
      res.end(slice);
    };
    const wait = delays.get(path);
    if (wait) setTimeout(answer, wait);
    else answer();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    put: (path, body) => files.set(path, Buffer.from(body)),
    remove: (path) => files.delete(path),
    hits,
    ranges,
    dropOnce: (path, bytes) => drops.set(path, bytes),
    delay: (path, ms) => delays.set(path, ms),
    redirect: (from, to) => redirects.set(from, to),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
